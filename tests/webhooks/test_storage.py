"""The outbox on PostgreSQL and SQLite: two instances deliver each reply once; the company's
key and the client's config never reach the database (bytes of the SQLite files, a PostgreSQL
dump), the reply webhook or the outbox."""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from harness.agents import AgentFactory
from harness.orchestrator import OrchestratorProcess, StartApp, chat_body
from harness.webhook_receiver import WebhookReceiver

from .conftest import ASYNC, BOOK, SECRET, hook_settings

KEY = "sk-empresa-7-clave-webhooks-0123456789"
MARKER = "valor-de-config-que-no-se-guarda-31337"


def today_body(message: str, session_id: int) -> dict[str, Any]:
    body = chat_body(message, session_id, nota_interna=MARKER)
    return {**body, "id_empresa": 7, "api_key": KEY}


def test_two_instances_on_postgresql_deliver_each_reply_once(
    tmp_path: Path, chat_agent: AgentFactory, receiver: WebhookReceiver, pg_url: str
) -> None:
    agent = chat_agent("reserva")
    receiver.state.delay = 0.05  # deliveries overlap the other instance's claims
    env = {
        "DATABASE_URL": pg_url,
        "CHECKPOINT_DB": str(tmp_path / "locks.sqlite"),
        "LLM_MODE": "offline",
        "MCP_RESERVA_URL": agent.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "REPLY_WEBHOOK_URL": receiver.url,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    }
    one = OrchestratorProcess(tmp_path / "one", env).start()
    two = OrchestratorProcess(tmp_path / "two", env).start()
    try:
        receiver.answer(503, 503, 503)  # some rows wait on a backoff: both workers poll them
        jobs = [
            (one if i % 2 else two, f"quiero reservar, mensaje {i}", f"pg-{i % 6}")
            for i in range(30)
        ]

        def send(job: tuple[OrchestratorProcess, str, str]) -> str:
            app, message, session = job
            r = app.client.post("/api/agent/chat", json=chat_body(message, session), headers=ASYNC)
            assert r.status_code == 202, r.text
            return r.json()["request_id"]

        with cf.ThreadPoolExecutor(6) as pool:
            request_ids = list(pool.map(send, jobs))
        got = receiver.wait(30, timeout=120)
        time.sleep(2)  # a duplicate would arrive now
        ok = receiver.accepted()
        counts = Counter(d.headers["x-orquestador-delivery"] for d in ok)
        assert len(counts) == 30 and set(counts.values()) == {1}, counts
        assert sorted(d.json()["request_id"] for d in got) == sorted(request_ids)
        # each conversation's replies arrive in its turn order
        by_session: dict[Any, list[int]] = {}
        for d in ok:
            event = d.json()
            by_session.setdefault(event["session_id"], []).append(
                int(event["reply"].rsplit("(turno ", 1)[1].rstrip(")"))
            )
        assert all(turns == sorted(turns) for turns in by_session.values()), by_session
        # both instances delivered (the claims are shared, not one instance's own rows only)
        with psycopg.connect(pg_url) as conn:
            owners = conn.execute(
                "SELECT count(DISTINCT owner) FROM orquestador_outbox WHERE state = 'delivered'"
            ).fetchone()
        assert owners is not None and owners[0] == 2
    finally:
        one.close()
        two.close()


def test_the_company_key_and_config_never_reach_the_sqlite_files(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    agent = chat_agent("reserva")
    db = tmp_path / "secret.sqlite"
    app = start_app({"reserva": agent.url}, **hook_settings(receiver, CHECKPOINT_DB=str(db)))
    for i in range(3):
        r = app.client.post(
            "/api/agent/chat", json=today_body(BOOK, 51900000000 + i), headers=ASYNC
        )
        assert r.status_code == 202
    receiver.wait(3, timeout=60)
    receiver.answer(default=503)  # one more left pending in the outbox
    r = app.client.post("/api/agent/chat", json=today_body(BOOK, 51900000009), headers=ASYNC)
    receiver.wait(1, timeout=60, where=lambda d: d.status == 503)
    assert all(
        KEY.encode() not in d.body and MARKER.encode() not in d.body for d in receiver.deliveries
    )
    files = [p for p in tmp_path.glob("secret.sqlite*")]
    assert db in files
    blob = b"".join(p.read_bytes() for p in files)
    assert b"orquestador_outbox" in blob and BOOK.encode() in blob  # what we looked through
    assert KEY.encode() not in blob
    assert MARKER.encode() not in blob
    assert r.status_code == 202


def test_the_company_key_and_config_never_reach_postgresql(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver, pg_url: str
) -> None:
    agent = chat_agent("reserva")
    app = start_app({"reserva": agent.url}, **hook_settings(receiver, DATABASE_URL=pg_url))
    r = app.client.post("/api/agent/chat", json=today_body(BOOK, 51900000001), headers=ASYNC)
    assert r.status_code == 202
    receiver.wait(1, timeout=60)
    receiver.answer(default=503)
    app.client.post("/api/agent/chat", json=today_body(BOOK, 51900000002), headers=ASYNC)
    receiver.wait(1, timeout=60, where=lambda d: d.status == 503)
    with psycopg.connect(pg_url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).fetchall()
        ]
        assert "orquestador_outbox" in tables
        values: list[Any] = [
            value
            for table in tables
            for row in conn.execute(f'SELECT * FROM "{table}"').fetchall()
            for value in row
        ]
    # every column of every table, bytea (the outbox body, checkpoint blobs) as raw bytes
    raw = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in values)
    assert BOOK.encode() in raw  # the outbox's reply body and the checkpoint were looked through
    assert KEY.encode() not in raw and MARKER.encode() not in raw
