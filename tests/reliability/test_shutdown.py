"""SIGTERM on a real `uvicorn` process with turns in flight: all answered, stored; new ones 503."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from harness.agents import AgentFactory, AgentHandle
from harness.orchestrator import OrchestratorProcess, chat_body

BOOK = "quiero reservar una mesa para 4"
SHUTTING_DOWN = "El servicio se está reiniciando; inténtalo de nuevo en unos segundos."


def plain_turn(url: str, session_id: str) -> tuple[int, dict[str, Any]]:
    r = httpx.post(f"{url}/api/agent/chat", json=chat_body(BOOK, session_id), timeout=60)
    return r.status_code, r.json()


def stream_turn(url: str, session_id: str) -> list[tuple[str, dict[str, Any]]]:
    events, name = [], None
    body = chat_body(BOOK, session_id)
    with httpx.stream("POST", f"{url}/api/agent/chat/stream", json=body, timeout=60) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line.split(":", 1)[1])))
    return events


def wait_in_flight(agent: AgentHandle, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while agent.stats()["in_flight"] < count:
        assert time.monotonic() < deadline, agent.stats()["in_flight"]
        time.sleep(0.05)


def start(tmp_path: Path, agent: AgentHandle, **env: Any) -> OrchestratorProcess:
    values = {
        "CHECKPOINT_DB": str(tmp_path / "shutdown.sqlite"),
        "LLM_MODE": "offline",
        "MCP_RESERVA_URL": agent.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "MCP_TIMEOUT": "30",
        **env,
    }
    return OrchestratorProcess(tmp_path, values).start()


def test_sigterm_finishes_and_stores_every_turn_in_flight(
    tmp_path: Path, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva", fresh=True, delay=2)
    app = start(tmp_path, agent, SHUTDOWN_GRACE_SECONDS="30")
    try:
        with cf.ThreadPoolExecutor(20) as pool:
            plain = [pool.submit(plain_turn, app.url, f"plain-{i}") for i in range(10)]
            streams = [pool.submit(stream_turn, app.url, f"stream-{i}") for i in range(10)]
            wait_in_flight(agent, 20)
            assert app.process.pid is not None
            os.kill(app.process.pid, signal.SIGTERM)
            time.sleep(0.2)
            # still listening while it drains: readiness and new turns say so, in Spanish
            ready = httpx.get(f"{app.url}/ready", timeout=5)
            assert ready.status_code == 503
            assert ready.json() == {"detail": "El servicio se está deteniendo"}
            refused = httpx.post(f"{app.url}/api/agent/chat", json=chat_body("hola", "late"))
            assert refused.status_code == 503 and refused.json() == {"detail": SHUTTING_DOWN}
            assert httpx.get(f"{app.url}/health", timeout=5).status_code == 200
            for future in plain:
                status, body = future.result(timeout=60)
                assert status == 200 and body["agent_used"] == "reserva", body
            for stream in streams:
                events = stream.result(timeout=60)
                assert events[-1][0] == "done", events
                assert events[-1][1]["agent_used"] == "reserva"
        assert app.process.proc is not None
        app.process.proc.wait(timeout=30)  # then it exits by itself
    finally:
        app.close()
    assert agent.stats()["tool_calls"].__len__() == 20  # the late turn never reached the agent
    agent.control(delay=0)
    again = start(tmp_path, agent)
    try:
        sessions = again.client.get("/memory/stats").json()["sessions"]
        expected = {f"plain-{i}": 1 for i in range(10)} | {f"stream-{i}": 1 for i in range(10)}
        assert sessions == expected  # all 20 stored, the refused one not
    finally:
        again.close()
        agent.stop()


AGENT_DELAY = 60
"""The agent's delay in the test past the grace: far beyond the 1 s grace, so the margin is wide."""


def test_turns_past_the_grace_end_with_503_and_an_error_event(
    tmp_path: Path, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva", fresh=True, delay=AGENT_DELAY)
    app = start(tmp_path, agent, SHUTDOWN_GRACE_SECONDS="1")
    try:
        with cf.ThreadPoolExecutor(2) as pool:
            plain = pool.submit(plain_turn, app.url, "slow-plain")
            stream = pool.submit(stream_turn, app.url, "slow-stream")
            wait_in_flight(agent, 2)
            started = time.monotonic()
            assert app.process.pid is not None
            os.kill(app.process.pid, signal.SIGTERM)
            status, body = plain.result(timeout=30)
            assert status == 503 and body == {"detail": SHUTTING_DOWN}, body
            events = stream.result(timeout=30)
            assert events[-1] == ("error", {"detail": SHUTTING_DOWN, "status": 503}), events
        assert app.process.proc is not None
        app.process.proc.wait(timeout=30)
        # it waited the grace (1 s), not for the agent: far less than the agent's delay
        assert time.monotonic() - started < AGENT_DELAY / 2
    finally:
        app.close()
        agent.stop()
