"""Nothing lost: real `uvicorn` processes killed (SIGKILL) or stopped (SIGTERM) with replies
pending deliver them after the restart; a turn that never answered becomes an error event
(the SIGKILL tests on SQLite and on PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from harness.agents import AgentFactory, AgentHandle
from harness.orchestrator import OrchestratorProcess, chat_body
from harness.procs import child_env
from harness.webhook_receiver import WebhookReceiver
from server.webhooks.payloads import RESTARTED

from .conftest import ASYNC, BOOK, SECRET, signed


def start(
    tmp_path: Path, agent: AgentHandle, receiver: WebhookReceiver, **env: Any
) -> OrchestratorProcess:
    values = {
        "CHECKPOINT_DB": str(tmp_path / "hooks.sqlite"),
        "LLM_MODE": "offline",
        "MCP_RESERVA_URL": agent.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "MCP_TIMEOUT": "60",
        "REPLY_WEBHOOK_URL": receiver.url,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        **env,
    }
    return OrchestratorProcess(tmp_path, values).start()


def accept(app: OrchestratorProcess, message: str, session_id: Any) -> dict[str, Any]:
    r = app.client.post("/api/agent/chat", json=chat_body(message, session_id), headers=ASYNC)
    assert r.status_code == 202, r.text
    return r.json()


def row_of(app: OrchestratorProcess, request_id: str) -> dict[str, Any] | None:
    rows = app.client.get("/webhooks/deliveries", params={"request_id": request_id}).json()
    return rows["deliveries"][0] if rows["deliveries"] else None


def wait_row(app: OrchestratorProcess, request_id: str, ready: Any, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        row = row_of(app, request_id)
        if row is not None and ready(row):
            return row
        assert time.monotonic() < deadline, row
        time.sleep(0.1)


def test_sigkill_with_a_reply_pending_delivers_it_after_the_restart(
    tmp_path: Path, chat_agent: AgentFactory, receiver: WebhookReceiver, storage: dict[str, Any]
) -> None:
    agent = chat_agent("reserva")
    receiver.stop()  # the receiver is down: connection refused
    app = start(tmp_path, agent, receiver, **storage)
    try:
        accepted = accept(app, BOOK, 51911122233)
        row = wait_row(app, accepted["request_id"], lambda r: r["attempts"] >= 2)
        assert row["state"] == "ready" and row["last_error"] == "connection"
        assert app.client.get("/ready").status_code == 200  # the receiver is not readiness
        app.process.kill9()
        receiver.start()
        app.process.start()
        (delivery,) = receiver.wait(1, timeout=60)
        assert signed(delivery)
        event = delivery.json()
        assert (
            event["delivery_id"] == row["delivery_id"] == delivery.headers["x-orquestador-delivery"]
        )
        assert event["event"] == "reply" and event["request_id"] == accepted["request_id"]
        assert event["reply"] == f"[reserva] recibido: {BOOK} (turno 1)"
        assert wait_row(app, accepted["request_id"], lambda r: r["state"] == "delivered")
    finally:
        app.close()


def test_sigkill_before_the_turn_answered_delivers_an_error_event_after_the_restart(
    tmp_path: Path, chat_agent: AgentFactory, receiver: WebhookReceiver, storage: dict[str, Any]
) -> None:
    agent = chat_agent("reserva", fresh=True, delay=30)
    app = start(tmp_path, agent, receiver, WEBHOOK_LEASE_SECONDS="2", **storage)
    try:
        accepted = accept(app, "quiero reservar para el viernes", "perdida")
        deadline = time.monotonic() + 20
        while agent.stats()["in_flight"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        app.process.kill9()
        app.process.start()
        (delivery,) = receiver.wait(1, timeout=60)
        event = delivery.json()
        assert signed(delivery)
        assert event["event"] == "error" and event["status"] == 503
        assert event["detail"] == RESTARTED
        assert event["message"] == "quiero reservar para el viernes"
        assert event["session_id"] == "perdida" and event["request_id"] == accepted["request_id"]
    finally:
        app.close()
        agent.control(delay=0)


def test_sigterm_finishes_the_turn_and_leaves_its_reply_for_the_next_start(
    tmp_path: Path, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva", fresh=True, delay=2)
    receiver.stop()
    app = start(tmp_path, agent, receiver, SHUTDOWN_GRACE_SECONDS="30")
    try:
        accepted = accept(app, BOOK, "drenada")
        deadline = time.monotonic() + 20
        while agent.stats()["in_flight"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert app.process.pid is not None
        os.kill(app.process.pid, signal.SIGTERM)
        time.sleep(0.3)
        refused = httpx.post(
            f"{app.url}/api/agent/chat", json=chat_body(BOOK, "tarde"), headers=ASYNC, timeout=10
        )
        assert refused.status_code == 503  # no new work while draining
        assert app.process.proc is not None
        app.process.proc.wait(60)
        receiver.start()
        app.process.start()
        (delivery,) = receiver.wait(1, timeout=60)
        event = delivery.json()
        assert event["event"] == "reply" and event["request_id"] == accepted["request_id"]
        assert event["reply"] == f"[reserva] recibido: {BOOK} (turno 1)"
    finally:
        app.close()


def test_a_webhook_url_without_a_secret_refuses_to_start() -> None:
    env = child_env({"REPLY_WEBHOOK_URL": "http://127.0.0.1:9/hook", "WEBHOOK_SECRET": ""})
    done = subprocess.run(
        [sys.executable, "-c", "import server.main"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 3
    assert b"WEBHOOK_SECRET must be set" in done.stderr
    assert b"Traceback" not in done.stderr
