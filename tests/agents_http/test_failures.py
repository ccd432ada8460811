"""HTTP agents failing: what is retried (counted at the agent), fallbacks, the cap, /ready."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from harness.orchestrator import RunningApp, StartApp, chat_body
from harness.procs import free_port
from tests.agents_http.conftest import FALLBACK, ProductionAgents

CITA = "quiero agendar una cita para mañana"


def fallback(session_id: str) -> dict[str, Any]:
    """The response of a turn whose agent failed."""
    return {
        "reply": FALLBACK,
        "session_id": session_id,
        "agent_used": None,
        "action": "respond",
        "url": None,
    }


@pytest.fixture
def app(start_app: StartApp, production_agents: ProductionAgents) -> RunningApp:
    """The four HTTP agents, three attempts per call, offline routing."""
    return start_app(LLM_MODE="offline", MCP_MAX_RETRIES=3, **production_agents.settings())


def test_a_busy_agent_is_retried_until_it_answers(
    app: RunningApp, production_agents: ProductionAgents
) -> None:
    cita = production_agents.cita
    cita.state.statuses.extend([503, 503])  # only an explicit 503 (502/504: test_agent_faults)
    body = app.chat(CITA, "r1", modalidad="Citas").json()
    assert (body["action"], body["agent_used"]) == ("delegate", "cita")
    assert cita.state.requests == 3 and len(cita.calls) == 3
    # the same request each time: same body, same request id
    assert len({json.dumps(call["json"]) for call in cita.calls}) == 1
    assert len({call["headers"]["x-request-id"] for call in cita.calls}) == 1
    assert app.metrics()["circuit_breakers"]["cita"] == {"state": "closed", "failure_count": 0}


def test_a_busy_agent_is_tried_max_retries_times_then_falls_back(
    app: RunningApp, production_agents: ProductionAgents
) -> None:
    production_agents.cita.state.statuses.extend([503] * 5)
    assert app.chat(CITA, "r2", modalidad="Citas").json() == fallback("r2")
    assert production_agents.cita.state.requests == 3
    assert app.metrics()["circuit_breakers"]["cita"]["failure_count"] == 1


@pytest.mark.parametrize("status", [500, 400, 404, 409, 422])
def test_a_500_or_a_4xx_is_not_retried_and_its_text_never_reaches_the_user(
    app: RunningApp, production_agents: ProductionAgents, status: int
) -> None:
    cita = production_agents.cita
    cita.state.statuses.append(status)
    r = app.chat(CITA, "n1", modalidad="Citas")
    assert r.json() == fallback("n1")
    assert "fallo simulado" not in r.text
    assert cita.state.requests == 1  # the agent may have acted: never twice
    assert app.metrics()["circuit_breakers"]["cita"]["failure_count"] == 1
    # the next turn reaches the agent again
    assert app.chat(CITA, "n1", modalidad="Citas").json()["agent_used"] == "cita"
    assert cita.state.requests == 2


def test_a_4xx_is_logged_with_its_status_and_the_agents_detail_only_at_debug(
    start_app: StartApp, production_agents: ProductionAgents, capsys: pytest.CaptureFixture[str]
) -> None:
    app = start_app(LLM_MODE="offline", **production_agents.settings())
    capsys.readouterr()
    production_agents.cita.state.statuses.append(404)
    assert app.chat(CITA, "l1", modalidad="Citas").json() == fallback("l1")
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    rejected = [line for line in lines if line["message"].startswith("agent rejected")]
    assert [(x["level"], x["extra_fields"]["status"]) for x in rejected] == [("WARNING", 404)]
    assert not [line for line in lines if "fallo simulado" in json.dumps(line)]


def test_a_wrong_internal_token_is_a_401_not_retried(
    start_app: StartApp, production_agents: ProductionAgents
) -> None:
    settings = {**production_agents.settings(), "AGENT_CITA_TOKEN": "token-equivocado"}
    app = start_app(LLM_MODE="offline", MCP_MAX_RETRIES=3, **settings)
    r = app.chat(CITA, "k1", modalidad="Citas")
    assert r.json() == fallback("k1") and "Unauthorized" not in r.text
    assert production_agents.cita.state.requests == 1 and production_agents.cita.calls == []


def test_a_read_timeout_is_not_retried(
    start_app: StartApp, production_agents: ProductionAgents
) -> None:
    app = start_app(
        LLM_MODE="offline", MCP_TIMEOUT=0.3, MCP_MAX_RETRIES=3, **production_agents.settings()
    )
    cita = production_agents.cita
    cita.state.delay = 1.0
    assert app.chat(CITA, "t1", modalidad="Citas").json() == fallback("t1")
    assert cita.state.requests == 1  # sent, then no answer in time: it may have booked
    assert app.metrics()["agent_failures"]["cita"] == 1
    time.sleep(0.8)  # let the agent finish the slow request
    cita.state.delay = 0.0
    assert app.chat(CITA, "t1", modalidad="Citas").json()["agent_used"] == "cita"


def test_an_empty_reply_is_a_fallback_not_retried(
    app: RunningApp, production_agents: ProductionAgents
) -> None:
    cita = production_agents.cita
    cita.state.empty_next = 1
    assert app.chat(CITA, "e1", modalidad="Citas").json() == fallback("e1")
    assert cita.state.requests == 1
    assert app.chat(CITA, "e1", modalidad="Citas").json()["agent_used"] == "cita"


def test_the_concurrency_cap_is_measured_at_the_agent(
    start_app: StartApp, production_agents: ProductionAgents
) -> None:
    app = start_app(LLM_MODE="offline", AGENT_MAX_CONCURRENCY=3, **production_agents.settings())
    cita = production_agents.cita
    cita.state.delay = 0.3

    def turn(i: int) -> httpx.Response:
        with httpx.Client(base_url=app.url, timeout=60) as client:
            body = chat_body(CITA, f"c{i}", modalidad="Citas")
            return client.post("/api/agent/chat", json=body)

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(turn, range(12)))
    assert [r.status_code for r in responses] == [200] * 12
    assert {r.json()["agent_used"] for r in responses} == {"cita"}  # waited, never failed
    assert cita.state.requests == 12
    assert cita.state.max_in_flight == 3


def test_ready_lists_every_agent_state_and_stays_200(
    start_app: StartApp, production_agents: ProductionAgents
) -> None:
    down = f"http://127.0.0.1:{free_port()}/api/chat"
    app = start_app(
        wait_agents=0,
        LLM_MODE="offline",
        MCP_MAX_RETRIES=1,
        MCP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=1,
        MCP_CIRCUIT_BREAKER_RESET_TIMEOUT=60,
        **{
            **production_agents.settings(),
            "AGENT_VENTA_URL": down,  # nothing listens there
            "AGENT_RESERVA_ENABLED": "false",
            "AGENT_APAGADO_URL": f"http://127.0.0.1:{free_port()}/mcp",  # an MCP agent down
        },
    )
    production_agents.cita.state.statuses.append(500)
    assert app.chat(CITA, "y1", modalidad="Citas").json() == fallback("y1")
    r = app.client.get("/ready")
    assert r.status_code == 200
    assert r.json()["agents"] == {
        "cita": "circuit_open",
        "venta": "unreachable",
        "citas_ventas": "ok",
        "reserva": "disabled",
        "apagado": "unreachable",
    }
    assert r.json()["status"] == "ready"
    # the open breaker is not attempted; the disabled agent is never reached
    assert app.chat(CITA, "y3", modalidad="Citas").json() == fallback("y3")
    assert production_agents.cita.state.requests == 1
    assert app.chat("quiero reservar una mesa", "y4").json()["agent_used"] != "reserva"
    assert production_agents.reserva.state.requests == 0
    breakers = app.metrics()["circuit_breakers"]
    assert breakers["cita"] == {"state": "open", "failure_count": 1}
    assert "reserva" not in breakers  # only enabled agents have a breaker


def test_an_agent_down_is_a_fallback_counted_as_unreachable(start_app: StartApp) -> None:
    port = free_port()
    app = start_app(
        LLM_MODE="offline", MCP_MAX_RETRIES=3, AGENT_SOPORTE_URL=f"http://127.0.0.1:{port}/chat"
    )
    assert app.chat("necesito ayuda", "d1").json() == fallback("d1")
    prom = app.client.get("/metrics/prometheus").text
    assert 'orquestador_agent_failures_total{agent="soporte",reason="ConnectError"} 1.0' in prom
    assert app.client.get("/ready").json()["agents"] == {"soporte": "unreachable"}
