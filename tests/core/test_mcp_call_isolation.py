"""MCP agents (issue 20): a timed-out call ends only itself, a dead agent fails the turn at once
(then the retry rule), /ready pings, and a result past MAX_AGENT_RESPONSE_BYTES is a fallback."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import pytest

from harness.agents import AgentFactory
from harness.orchestrator import StartApp

FALLBACK = "Déjame consultarlo con el equipo y te confirmo en breve."
BOOK = "quiero reservar una mesa para 4 personas"


def test_a_call_that_times_out_never_cancels_a_later_healthy_one(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    # issue 20's 30 s timeout, 35 s call A and 6 s call B, scaled down by 10: A hangs past its
    # 3 s timeout while B (1.5 s of work) is in flight on the same agent
    agent = chat_agent("reserva", fresh=True)
    app = start_app(
        agents={"reserva": agent.url}, LLM_MODE="offline", AGENT_TIMEOUT=3, AGENT_MAX_RETRIES=1
    )
    assert app.chat(BOOK, session_id="warm").json()["action"] == "delegate"
    done: list[tuple[str, dict[str, Any]]] = []

    def turn(name: str) -> None:
        done.append((name, app.chat(BOOK, session_id=name).json()))

    agent.control(hang_next=1)
    a = threading.Thread(target=turn, args=("A",))
    a.start()
    while agent.stats()["in_flight"] < 1:
        time.sleep(0.02)
    time.sleep(2.0)  # B starts late in A's 3 s and is still working when A times out
    agent.control(delay=1.5)
    turn("B")
    a.join()
    assert [name for name, _ in done] == ["A", "B"]  # A timed out while B was in flight
    assert done[0][1]["reply"] == FALLBACK
    b = done[1][1]
    assert (b["action"], b["agent_used"]) == ("delegate", "reserva")
    assert b["reply"].startswith("[reserva] recibido")
    assert agent.rpc_count("initialize") == 1  # the held session was never reopened
    assert app.metrics()["agent_failures"] == {"reserva": 1}


def test_an_agent_killed_before_a_turn_gives_the_fallback_at_once(
    start_app: StartApp, chat_agent: AgentFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = chat_agent("reserva", fresh=True)
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        AGENT_TIMEOUT=30,
        AGENT_MAX_RETRIES=3,
        TURN_TIMEOUT=50,
    )
    assert app.chat(BOOK, session_id="k1").json()["action"] == "delegate"
    agent.kill9()
    capsys.readouterr()
    body = app.chat(BOOK, session_id="k1").json()
    assert body["reply"] == FALLBACK
    # the refusal is noticed at once: the call failed as refused, never by the 30 s timeout or
    # the turn's deadline
    prom = app.client.get("/metrics/prometheus").text
    reasons = re.findall(
        r'orquestador_agent_failures_total\{agent="reserva",reason="([^"]+)"\}', prom
    )
    assert reasons and not {"timeout", "deadline"} & set(reasons), reasons
    assert app.metrics()["turn_timeouts"] == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    retried = [x for x in lines if x["message"] == "agent call retried"]
    assert len(retried) == 2  # refused: nothing was sent, so retried (3 attempts)
    assert app.client.get("/ready").json()["agents"] == {"reserva": "unreachable"}
    agent.restart()
    app.wait_agents(20)
    assert app.chat(BOOK, session_id="k1").json()["action"] == "delegate"


def test_ready_pings_an_mcp_agent(start_app: StartApp, chat_agent: AgentFactory) -> None:
    agent = chat_agent("reserva", fresh=True)
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline", AGENT_PROBE_INTERVAL=0)
    assert app.client.get("/ready").json()["agents"] == {"reserva": "ok"}
    assert agent.rpc_count("ping") == 1
    agent.kill9()  # the held session still looks open: only the ping tells
    assert app.client.get("/ready").json()["agents"] == {"reserva": "unreachable"}


def test_an_mcp_result_past_the_limit_is_a_fallback_of_its_own_kind(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        AGENT_MAX_RETRIES=3,
        MAX_AGENT_RESPONSE_BYTES=100_000,
    )
    agent.control(big_next=300_000)
    assert app.chat(BOOK, session_id="g1").json()["reply"] == FALLBACK
    assert agent.stats()["rpc"]["tools/call"] == 1  # it ran: not sent again
    prom = app.client.get("/metrics/prometheus").text
    assert 'orquestador_agent_failures_total{agent="reserva",reason="too_large"} 1.0' in prom
    agent.control(big_next=30_000)  # under the limit (sent twice: text and structured)
    assert app.chat(BOOK, session_id="g1").json()["action"] == "delegate"


def test_an_agent_dying_mid_call_fails_that_call_at_once(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva", fresh=True)
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        AGENT_TIMEOUT=30,
        AGENT_MAX_RETRIES=3,
        TURN_TIMEOUT=50,
    )
    assert app.chat(BOOK, session_id="m1").json()["action"] == "delegate"
    agent.control(exit_next=1)  # the server exits while running the call
    started = time.monotonic()
    assert app.chat(BOOK, session_id="m1").json()["reply"] == FALLBACK
    assert time.monotonic() - started < 5  # the dropped connection, not the 30 s timeout
    prom = app.client.get("/metrics/prometheus").text
    assert 'orquestador_agent_failures_total{agent="reserva",reason="RemoteProtocolError"}' in prom
    agent.restart()
    app.wait_agents(20)
    assert app.chat(BOOK, session_id="m1").json()["action"] == "delegate"
