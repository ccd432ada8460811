"""Agent calls over real MCP: held sessions, retries, timeouts, breaker, fallbacks, id types."""

from __future__ import annotations

import time

import pytest

from graph.agents.session_id import as_integer
from harness.agents import AgentFactory
from harness.orchestrator import StartApp
from harness.procs import free_port

FALLBACK = "Déjame consultarlo con el equipo y te confirmo en breve."
BOOK = "quiero reservar una mesa para 4 personas"


def test_ten_delegated_turns_cost_one_http_request_each(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline")
    app.chat(BOOK, session_id="warm")
    agent.reset_stats()
    for i in range(10):
        assert app.chat(BOOK, session_id=f"n{i}").json()["agent_used"] == "reserva"
    stats = agent.stats()
    assert stats["rpc"].get("tools/call") == 10
    assert stats["rpc"].get("tools/list", 0) == 0 and stats["rpc"].get("initialize", 0) == 0
    assert stats["total_requests"] <= 10


def test_an_agent_error_is_not_retried(start_app: StartApp, chat_agent: AgentFactory) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline", MCP_MAX_RETRIES=3)
    agent.control(fail_next=1)
    body = app.chat(BOOK, session_id="r1").json()
    assert body["action"] == "respond" and body["reply"] == FALLBACK
    assert agent.stats()["rpc"]["tools/call"] == 1  # the agent may have acted: never twice
    body = app.chat(BOOK, session_id="r1").json()
    assert body["action"] == "delegate" and body["reply"].startswith("[reserva] recibido")
    assert agent.stats()["rpc"]["tools/call"] == 2
    assert app.metrics()["circuit_breakers"]["reserva"]["failure_count"] == 0


def test_agent_error_result_is_a_fallback_and_never_shown(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline", MCP_MAX_RETRIES=2)
    agent.control(error_result_next=2)
    body = app.chat(BOOK, session_id="e1").json()
    assert body == {
        "reply": FALLBACK,
        "session_id": "e1",
        "agent_used": None,
        "action": "respond",
        "url": None,
    }
    assert app.metrics()["agent_failures"] == {"reserva": 1}


def test_a_result_its_output_schema_refuses_is_a_fallback_not_retried(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline", MCP_MAX_RETRIES=3)
    agent.control(bad_output_next=1)
    body = app.chat(BOOK, session_id="o1").json()
    assert body["action"] == "respond" and body["reply"] == FALLBACK
    assert "inválida" not in body["reply"]
    assert agent.stats()["rpc"]["tools/call"] == 1  # it ran: never sent twice
    assert app.metrics()["agent_failures"] == {"reserva": 1}
    assert app.metrics()["internal_errors"] == {}  # a failed agent, not a bug of ours
    body = app.chat(BOOK, session_id="o1").json()  # its next valid answer passes the check
    assert body["action"] == "delegate" and body["reply"].startswith("[reserva] recibido")


def test_timeout_bounds_a_hanging_agent(start_app: StartApp, chat_agent: AgentFactory) -> None:
    agent = chat_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        MCP_TIMEOUT=0.5,
        MCP_MAX_RETRIES=2,
        TURN_TIMEOUT=60,
    )
    agent.control(hang_next=1)
    body = app.chat(BOOK, session_id="t1").json()
    assert body["action"] == "respond" and body["reply"] == FALLBACK
    assert agent.stats()["rpc"]["tools/call"] == 1  # sent, then timed out: not sent again
    metrics = app.metrics()
    assert metrics["agent_failures"] == {"reserva": 1}
    assert metrics["turn_timeouts"] == 0  # cut by MCP_TIMEOUT, not by the turn's deadline
    # the session is reopened and the agent answers the next turn
    assert app.chat(BOOK, session_id="t1").json()["action"] == "delegate"


def test_breaker_opens_then_half_opens_then_closes(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        MCP_MAX_RETRIES=1,
        MCP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=2,
        MCP_CIRCUIT_BREAKER_RESET_TIMEOUT=1,
    )
    agent.control(fail_next=100)
    for _ in range(2):
        assert app.chat(BOOK, session_id="b1").json()["action"] == "respond"
    assert app.metrics()["circuit_breakers"]["reserva"] == {"state": "open", "failure_count": 2}
    calls = agent.stats()["rpc"]["tools/call"]
    assert app.chat(BOOK, session_id="b1").json()["action"] == "respond"
    assert agent.stats()["rpc"]["tools/call"] == calls  # open: not attempted
    time.sleep(1.1)
    assert app.metrics()["circuit_breakers"]["reserva"]["state"] == "half_open"
    agent.control(fail_next=0)
    assert app.chat(BOOK, session_id="b1").json()["action"] == "delegate"
    assert app.metrics()["circuit_breakers"]["reserva"] == {"state": "closed", "failure_count": 0}


def test_disabled_agent_is_never_reached(start_app: StartApp, chat_agent: AgentFactory) -> None:
    reserva, cita = chat_agent("reserva"), chat_agent("cita")
    app = start_app(agents={"reserva": reserva.url}, LLM_MODE="offline", MCP_CITA_URL=cita.url)
    for message in ("quiero agendar una cita con el dentista", "usa el agente cita"):
        body = app.chat(message, session_id="d1").json()
        assert body["agent_used"] != "cita"
    assert cita.chat_calls() == []
    assert set(app.metrics()["circuit_breakers"]) == {"reserva"}


def test_agent_down_at_start_falls_back_then_is_used_once_up(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    port = free_port()
    app = start_app(
        agents={"reserva": f"http://127.0.0.1:{port}/mcp"},
        LLM_MODE="offline",
        MCP_MAX_RETRIES=1,
        wait_agents=0,
    )
    body = app.chat(BOOK, session_id="u1").json()
    assert body == {
        "reply": FALLBACK,
        "session_id": "u1",
        "agent_used": None,
        "action": "respond",
        "url": None,
    }
    assert app.metrics()["agent_failures"] == {"reserva": 1}
    agent = chat_agent("reserva", port=port, fresh=True)
    app.wait_agents(20)
    assert app.chat(BOOK, session_id="u1").json()["agent_used"] == "reserva"
    agent.stop()


def test_agent_restart_reopens_the_session(start_app: StartApp, chat_agent: AgentFactory) -> None:
    agent = chat_agent("reserva", fresh=True)
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline", MCP_MAX_RETRIES=3)
    assert app.chat(BOOK, session_id="k1").json()["action"] == "delegate"
    agent.restart()
    assert app.chat(BOOK, session_id="k1").json()["action"] == "delegate"
    assert agent.rpc_count("initialize") == 1
    agent.stop()


@pytest.mark.parametrize(
    ("session_id", "sent"),
    [
        ("51987654321", 51987654321),
        ("user-abc", as_integer("user-abc")),
        ("051987654321", as_integer("051987654321")),
    ],
)
def test_integer_session_id_schema(
    start_app: StartApp, chat_agent: AgentFactory, session_id: str, sent: int
) -> None:
    agent = chat_agent("venta", session_id_type="int")
    app = start_app(agents={"venta": agent.url}, LLM_MODE="offline")
    body = app.chat("cuánto cuesta el lomo saltado?", session_id=session_id).json()
    assert body["action"] == "delegate"
    call = agent.chat_calls()[-1]
    assert call["session_id"] == sent and call["session_id_type"] == "int"


@pytest.mark.parametrize(
    "options",
    [{"stateless": True}, {"json_response": True}, {"stateless": True, "json_response": True}],
)
def test_agents_of_every_streamable_http_flavour(
    start_app: StartApp, chat_agent: AgentFactory, options: dict
) -> None:
    agent = chat_agent("reserva", **options)
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline")
    for turn in (1, 2):
        body = app.chat(BOOK, session_id="flavour").json()
        assert body["agent_used"] == "reserva" and body["reply"].endswith(f"(turno {turn})")
    assert agent.rpc_count("tools/list") == 1
