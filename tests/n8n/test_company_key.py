"""The company's own model key: its turns' model calls carry it, other turns the server's key."""

from __future__ import annotations

import concurrent.futures as cf
import uuid
from typing import Any

import httpx

from harness.agents import AgentFactory
from harness.http_agent import HttpAgent
from harness.openai_specs import request_user_text, route_json, text, tool_calls
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings
from tests.n8n.helpers import agent_env, post, today_body

SERVER_KEY = "server-key-0123456789"


def authorizations(stub: OpenAIStub) -> list[tuple[str, str]]:
    """(the customer's message, the Authorization header) of every model request, in order."""
    return [
        (request_user_text(req), headers.get("authorization", ""))
        for req, headers in zip(stub.requests, stub.request_headers, strict=True)
    ]


def test_each_turn_uses_its_companys_key_or_the_servers(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(**agent_env(agents), **model_settings(openai_stub, OPENAI_API_KEY=SERVER_KEY))
    openai_stub.set_handler(lambda req: route_json("delegate", "cita"))
    keys = {"a": f"sk-empresa-a-{uuid.uuid4().hex}", "b": f"sk-empresa-b-{uuid.uuid4().hex}"}
    plan = [("a", 1), (None, 2), ("b", 3), ("a", 4), (None, 5), ("b", 6)]
    for company, n in plan:  # one after another, interleaved
        key = keys[company] if company else None
        r = post(app, today_body(f"cita número {n}", session_id=510000 + n, api_key=key))
        assert r.status_code == 200, r.text
        assert r.json()["agent_used"] == "cita"
    expected = [
        (f"cita número {n}", f"Bearer {keys[company] if company else SERVER_KEY}")
        for company, n in plan
    ]
    assert authorizations(openai_stub) == expected
    # the agents got the same key as the model calls of their turn
    sent = [call["body"]["api_key"] for call in agents["cita"].calls]
    assert sent == [keys[company] if company else None for company, _ in plan]

    # and at the same time: 24 turns in flight, 3 keys, every request with its own turn's key
    openai_stub.reset()
    openai_stub.latency = 0.05
    openai_stub.set_handler(lambda req: route_json("delegate", "cita"))
    choice = [keys["a"], None, keys["b"]]
    bodies = [
        today_body(f"mensaje {i}", session_id=520000 + i, api_key=choice[i % 3]) for i in range(24)
    ]
    with (
        httpx.Client(base_url=app.url, timeout=60) as client,
        cf.ThreadPoolExecutor(12) as pool,
    ):
        codes = list(pool.map(lambda b: client.post("/api/agent/chat", json=b).status_code, bodies))
    assert codes == [200] * 24
    seen = dict(authorizations(openai_stub))
    assert len(seen) == 24
    for i in range(24):
        assert seen[f"mensaje {i}"] == f"Bearer {choice[i % 3] or SERVER_KEY}"


def test_a_key_routes_by_model_when_the_server_has_none(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(
        **agent_env(agents),
        **model_settings(openai_stub, OPENAI_API_KEY="", LLM_MODE="auto"),
    )
    openai_stub.set_handler(
        lambda req: route_json("respond", reply="Respuesta del modelo de la empresa.")
    )
    key = f"sk-empresa-{uuid.uuid4().hex}"
    r = post(app, today_body("¿Atienden los domingos?", api_key=key))
    assert r.status_code == 200, r.text
    assert r.json()["reply"] == "Respuesta del modelo de la empresa."
    assert authorizations(openai_stub) == [("¿Atienden los domingos?", f"Bearer {key}")]
    # without a key the same server routes offline: no model request
    r = post(app, today_body("Quiero una cita para el lunes", session_id=51900000001))
    assert r.status_code == 200 and r.json()["agent_used"] == "cita"
    assert openai_stub.request_count == 1


def test_openai_mode_without_a_server_key_refuses_only_keyless_turns(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(
        **agent_env(agents),
        **model_settings(openai_stub, OPENAI_API_KEY="", LLM_MODE="openai"),
    )
    openai_stub.set_handler(lambda req: route_json("delegate", "cita"))
    r = post(app, today_body("Quiero una cita"))
    assert (r.status_code, r.json()) == (500, {"detail": "OPENAI_API_KEY no configurada"})
    key = f"sk-empresa-{uuid.uuid4().hex}"
    r = post(app, today_body("Quiero una cita", api_key=key))
    assert r.status_code == 200, r.text
    assert r.json()["agent_used"] == "cita"
    assert authorizations(openai_stub) == [("Quiero una cita", f"Bearer {key}")]
    assert agents["cita"].last_body()["api_key"] == key


def test_offline_mode_ignores_the_key_for_routing_but_forwards_it(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(**agent_env(agents), **model_settings(openai_stub, LLM_MODE="offline"))
    key = f"sk-empresa-{uuid.uuid4().hex}"
    r = post(app, today_body("Quiero agendar una cita", api_key=key))
    assert (r.status_code, r.json()["agent_used"]) == (200, "cita"), r.text
    assert openai_stub.request_count == 0
    assert agents["cita"].last_body()["api_key"] == key


def test_a_tool_server_agents_loop_runs_on_the_companys_key(
    start_app: StartApp, openai_stub: OpenAIStub, tool_agent: AgentFactory
) -> None:
    agent = tool_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url},
        MCP_RESERVA_MODE="tools",
        **model_settings(openai_stub, OPENAI_API_KEY=SERVER_KEY),
    )
    key = f"sk-empresa-{uuid.uuid4().hex}"
    openai_stub.enqueue(
        route_json("delegate", "reserva"),
        tool_calls([("listar_servicios", {})]),
        text("Tenemos corte y manicure."),
    )
    body: dict[str, Any] = today_body(
        "¿Qué servicios puedo reservar?", api_key=key, modalidad="Reservas"
    )
    r = post(app, body)
    assert r.status_code == 200, r.text
    assert (r.json()["agent_used"], r.json()["reply"]) == ("reserva", "Tenemos corte y manicure.")
    headers = [h.get("authorization") for h in openai_stub.request_headers]
    assert headers == [f"Bearer {key}"] * 3  # router, tool call, answer
    # a keyless turn of the same agent runs on the server's key
    openai_stub.reset()
    openai_stub.enqueue(route_json("delegate", "reserva"), text("Tenemos corte."))
    r = post(app, today_body("¿Y qué más?", session_id=51900000002, modalidad="Reservas"))
    assert r.status_code == 200, r.text
    assert [h.get("authorization") for h in openai_stub.request_headers] == [
        f"Bearer {SERVER_KEY}"
    ] * 2


def test_model_clients_are_reused_per_key_and_bounded() -> None:
    from server.model_clients import MAX_COMPANY_MODELS, ModelPool
    from server.settings import Settings

    settings = Settings(
        _env_file=None, OPENAI_API_KEY=SERVER_KEY, OPENAI_BASE_URL="http://127.0.0.1:9/v1"
    )
    pool = ModelPool(settings)
    first, other = pool.get("sk-empresa-a-000000"), pool.get("sk-empresa-b-000000")
    assert first is pool.get("sk-empresa-a-000000") and first is not other
    assert pool.get(None) is pool.get("") is pool.server_model is not None
    for i in range(MAX_COMPANY_MODELS):  # more companies than the cache holds
        pool.get(f"sk-empresa-{i:06d}")
    assert pool.get("sk-empresa-a-000000") is not first  # evicted, then built again
