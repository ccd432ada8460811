"""TURN_TIMEOUT: a turn past its deadline answers the fallback phrase, stored and counted, and the
session goes on (the next turn, and a follow-up sent meanwhile, are answered)."""

from __future__ import annotations

import concurrent.futures as cf
import time
from typing import Any

import httpx
import pytest

from harness.agents import AgentFactory
from harness.context_server import ContextServer
from harness.http_agent import HttpAgent
from harness.openai_specs import hang, route_json, tool_calls
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings
from tests.n8n.helpers import SESSION, agent_env, post, read_events, today_body

TURN_TIMEOUT = 1.0
SLOW = 8.0
"""How long the slow parts below take (an agent, a tool, the business context): far past the
deadline. That the answer came before the slow part finished is read from the part itself (the
agent's calls in flight, the delays it finished); the fallback reply and the turn_timeouts count
prove the deadline fired."""
FALLBACK = "Déjame consultarlo con el equipo."
LIMITS = {"TURN_TIMEOUT": TURN_TIMEOUT, "SESSION_LOCK_TIMEOUT": 2}


def assert_fallback(r: httpx.Response, slow_part_finished: bool = False) -> None:
    """The fallback, answered before the slow part finished (read right after the answer): the
    deadline cut it, the turn did not wait for it."""
    assert r.status_code == 200, r.text
    assert r.json()["reply"] == FALLBACK
    assert (r.json()["action"], r.json()["agent_used"], r.json()["url"]) == ("respond", None, None)
    assert not slow_part_finished


def stored(app: Any, session: Any = SESSION) -> list[tuple[str, str]]:
    r = app.client.get(f"/memory/sessions/{session}")
    assert r.status_code == 200, r.text
    return [(m["role"], m["content"]) for m in r.json()["messages"]]


@pytest.mark.parametrize("router", ["offline", "model"])
def test_a_slow_agent_gives_the_fallback_by_the_deadline_and_the_next_turn_works(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent], router: str
) -> None:
    settings = model_settings(openai_stub) if router == "model" else {"LLM_MODE": "offline"}
    app = start_app(**agent_env(agents), **LIMITS, **settings)
    openai_stub.set_handler(lambda req: route_json("delegate", "cita"))
    agents["cita"].state.delay = SLOW
    r = post(app, today_body("Quiero una cita para mañana"))
    assert_fallback(r, slow_part_finished=agents["cita"].state.in_flight == 0)
    assert len(agents["cita"].calls) == 1  # it was called (and cut), not skipped
    metrics = app.metrics()
    assert metrics["turn_timeouts"] == 1 and metrics["requests_respond"] == 1
    prom = app.client.get("/metrics/prometheus").text
    assert "orquestador_turn_timeouts_total 1.0" in prom
    # stored as a respond turn of the orchestrator
    assert stored(app)[-2:] == [("user", "Quiero una cita para mañana"), ("assistant", FALLBACK)]
    # the lock was released: the next turn of the session is answered while the first agent
    # call is still running (a lock held until then would be a 409 after SESSION_LOCK_TIMEOUT)
    agents["cita"].state.delay = 0
    r = post(app, today_body("¿Y para el lunes?"))
    assert r.status_code == 200, r.text
    assert (r.json()["agent_used"], r.json()["action"]) == ("cita", "delegate")
    assert stored(app)[-2:] == [("user", "¿Y para el lunes?"), ("assistant", r.json()["reply"])]
    assert app.metrics()["turn_timeouts"] == 1


def test_a_follow_up_sent_during_a_slow_turn_is_answered_not_409(
    start_app: StartApp, agents: dict[str, HttpAgent], storage: dict[str, Any]
) -> None:
    app = start_app(**agent_env(agents), **LIMITS, **storage, LLM_MODE="offline")
    agents["cita"].state.delay = SLOW
    with cf.ThreadPoolExecutor(2) as pool, httpx.Client(base_url=app.url, timeout=30) as client:
        first = pool.submit(client.post, "/api/agent/chat", json=today_body("Quiero una cita"))
        deadline = time.monotonic() + 30
        while not agents["cita"].calls:  # the slow turn is at the agent
            assert time.monotonic() < deadline
            time.sleep(0.02)
        agents["cita"].state.delay = 0  # the follow-up's own call is quick
        second = client.post("/api/agent/chat", json=today_body("Es para mi hija, por favor"))
        first_response = first.result()
    assert first_response.status_code == 200 and first_response.json()["reply"] == FALLBACK
    # queued behind the first (which ended at its deadline, long before the agent's SLOW
    # seconds: waiting for those would be a 409 after SESSION_LOCK_TIMEOUT), then answered
    assert second.status_code == 200, second.text
    assert second.json()["agent_used"] == "cita"
    assert [c["body"]["message"] for c in agents["cita"].calls] == [
        "Quiero una cita",
        "Es para mi hija, por favor",
    ]
    assert [content for role, content in stored(app) if role == "user"] == [
        "Quiero una cita",
        "Es para mi hija, por favor",
    ]


def test_a_hanging_model_router_gives_the_fallback_by_the_deadline(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(**agent_env(agents), **LIMITS, **model_settings(openai_stub))
    openai_stub.enqueue(hang())
    r = post(app, today_body("Quiero una cita", api_key="sk-empresa-000111222"))
    assert_fallback(r)  # the model's request hangs until released below
    assert agents["cita"].calls == [] and openai_stub.request_count == 1
    assert app.metrics()["turn_timeouts"] == 1
    openai_stub.release()
    openai_stub.enqueue(route_json("delegate", "cita"))
    r = post(app, today_body("Quiero una cita"))
    assert r.json()["agent_used"] == "cita"


def test_retries_and_backoff_never_pass_the_deadline(
    start_app: StartApp, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(
        **agent_env(agents),
        **LIMITS,
        LLM_MODE="offline",
        MCP_MAX_RETRIES=10,
        MCP_RETRY_BACKOFF=0.4,  # 0.4 + 0.8 + 1.6 + … would take far past the deadline
    )
    agents["cita"].state.statuses.extend([503] * 20)  # busy: safe to retry
    r = post(app, today_body("Quiero una cita"))
    assert_fallback(r)
    assert 1 < agents["cita"].state.requests < 10  # retried, then stopped by the deadline


def test_direct_mode_and_the_stream_answer_the_fallback_too(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(
        **agent_env(agents), **LIMITS, ROUTING_MODE="direct", **model_settings(openai_stub)
    )
    agents["venta"].state.delay = SLOW
    events = read_events(app, today_body("¿Cuánto cuesta?", modalidad="Ventas"))
    done = events[-1]
    assert done[0] == "done"
    assert agents["venta"].state.in_flight == 1  # answered while the agent was still at it
    assert done[1] == {
        "reply": FALLBACK,
        "session_id": SESSION,
        "agent_used": None,
        "action": "respond",
        "url": None,
    }
    assert openai_stub.request_count == 0 and app.metrics()["turn_timeouts"] == 1


def test_a_slow_tool_of_a_tool_loop_is_cut_by_the_deadline(
    start_app: StartApp, openai_stub: OpenAIStub, tool_agent: AgentFactory
) -> None:
    agent = tool_agent("reserva", fresh=True)
    app = start_app(
        agents={"reserva": agent.url},
        MCP_RESERVA_MODE="tools",
        **LIMITS,
        **model_settings(openai_stub),
    )
    agent.control(delay=SLOW)
    openai_stub.enqueue(route_json("delegate", "reserva"), tool_calls([("listar_servicios", {})]))
    r = post(app, today_body("¿Qué servicios tienen?", modalidad="Reservas"))
    finished = agent.stats()["delays_finished"]
    agent.control(delay=0)
    assert_fallback(r, slow_part_finished=finished > 0)
    assert app.metrics()["turn_timeouts"] == 1


def test_a_slow_business_context_does_not_push_the_turn_past_its_deadline(
    start_app: StartApp,
    openai_stub: OpenAIStub,
    agents: dict[str, HttpAgent],
    context_server: ContextServer,
) -> None:
    app = start_app(
        **agent_env(agents),
        **LIMITS,
        CONTEXTO_NEGOCIO_ENDPOINT=context_server.url,
        CONTEXTO_NEGOCIO_TIMEOUT=10,
        **model_settings(openai_stub),
    )
    openai_stub.set_handler(lambda req: route_json("delegate", "cita"))
    context_server.set_delay(SLOW)
    r = post(app, today_body("Quiero una cita"))
    assert_fallback(r, slow_part_finished=context_server.delays_finished > 0)
    assert context_server.calls == 1
    metrics = app.metrics()
    assert (metrics["turn_timeouts"], metrics["llm_fallbacks"]) == (1, 0)
    assert agents["cita"].calls == [] and openai_stub.request_count == 0
    # a quick context again: the next turn is whole
    context_server.set_delay(0)
    r = post(app, today_body("Quiero una cita", session_id=51900000004))
    assert (r.status_code, r.json()["agent_used"]) == (200, "cita"), r.text
