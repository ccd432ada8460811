"""The orchestrator under `uvicorn --workers 2` on SQLite and PostgreSQL, and its stored turns."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from psycopg.rows import dict_row

from harness.agents import AgentFactory, AgentHandle
from harness.orchestrator import BASE_CONFIG, chat_body
from harness.procs import ServerProcess, free_port
from server.conversations.keys import conversation_key


class WorkersApp:
    """`uvicorn server.main:app` with N workers (by --workers or WEB_CONCURRENCY), offline."""

    def __init__(self, log_dir: Path, env: dict[str, str], flag: bool, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        argv: list[object] = ["server.main:app", "--host", "127.0.0.1", "--port", self.port]
        argv += ["--workers", workers] if flag else []
        self.workers = workers
        self.process = ServerProcess.python_module(
            "uvicorn",
            *argv,
            name=f"workers-{self.port}",
            log_dir=log_dir,
            env=env if flag else {**env, "WEB_CONCURRENCY": str(workers)},
            ready_url=f"{self.url}/health",
            ready_timeout=60,
        )

    def start(self) -> WorkersApp:
        self.process.start()
        with httpx.Client(base_url=self.url, timeout=30, trust_env=False) as client:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:  # every worker up: /metrics counts them all
                if client.get("/metrics").json().get("workers") == self.workers:
                    return self
                time.sleep(0.1)
        raise RuntimeError(f"workers never all answered; log:\n{self.process.log_tail()}")

    def stop(self) -> None:
        self.process.stop(timeout=15)

    def metrics(self) -> dict[str, Any]:
        """GET /metrics on a new connection (any worker may answer)."""
        return httpx.get(f"{self.url}/metrics", timeout=30, trust_env=False).json()

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines both workers wrote."""
        records = []
        for line in self.process.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records


StoredMessages = Callable[[str], list[Any]]


def _key(session_id: str) -> str:
    """The stored key of the base config's company's conversation (chat_body: company 12)."""
    return conversation_key(BASE_CONFIG["id_empresa"], session_id, "company")


def _sqlite_messages(path: Path) -> StoredMessages:
    def read(session_id: str) -> list[Any]:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        try:
            item = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": _key(session_id)}})
        finally:
            conn.close()
        return [] if item is None else list(item.checkpoint["channel_values"]["messages"])

    return read


def _postgres_messages(url: str) -> StoredMessages:
    def read(session_id: str) -> list[Any]:
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            item = PostgresSaver(conn).get_tuple({"configurable": {"thread_id": _key(session_id)}})
        return [] if item is None else list(item.checkpoint["channel_values"]["messages"])

    return read


@pytest.fixture(scope="module")
def reserva(chat_agent: AgentFactory) -> AgentHandle:
    """One conversational reserva agent for the module (its replies count turns per session)."""
    return chat_agent("reserva")


@pytest.fixture(scope="module")
def pg_module_url(pg_dsn: str) -> Iterator[str]:
    """A DATABASE_URL on a schema of its own for this module."""
    schema = f"w_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{pg_dsn}?options=-csearch_path%3D{schema}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


StartWorkers = Callable[..., tuple[WorkersApp, StoredMessages]]


@pytest.fixture(scope="module")
def start_workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, reserva: AgentHandle
) -> Iterator[StartWorkers]:
    """start_workers("sqlite" | "postgres", **ENV) -> (a running 2-worker app, message reader)."""
    running: list[WorkersApp] = []

    def start(kind: str, workers: int = 2, **env: object) -> tuple[WorkersApp, StoredMessages]:
        folder = tmp_path_factory.mktemp(f"workers-{kind}")
        values = {
            "LLM_MODE": "offline",
            "MCP_RESERVA_URL": reserva.url,
            "MCP_RESERVA_ENABLED": "true",
            "MCP_CITA_ENABLED": "false",
            "MCP_VENTA_ENABLED": "false",
            "CHECKPOINT_DB": str(folder / "checkpoints.sqlite"),
            "DATABASE_URL": "",
            "MAX_HISTORY_TURNS": "100",
            "SESSION_TTL_SECONDS": "0",
            "RATE_LIMIT_PER_MINUTE": "0",
            "SESSION_RATE_LIMIT_PER_MINUTE": "0",
            "API_KEYS": "",
            "ADMIN_API_KEYS": "",
            "REDIS_URL": "",
            "CONTEXTO_NEGOCIO_ENDPOINT": "",
            "LOG_LEVEL": "INFO",
            **{key: str(value) for key, value in env.items()},
        }
        if kind == "postgres" and not values["DATABASE_URL"]:
            values["DATABASE_URL"] = request.getfixturevalue("pg_module_url")
        app = WorkersApp(folder, values, flag=kind == "sqlite", workers=workers).start()
        running.append(app)
        if kind == "postgres":
            return app, _postgres_messages(values["DATABASE_URL"])
        return app, _sqlite_messages(Path(values["CHECKPOINT_DB"]))

    yield start
    for app in running:
        app.stop()


def reserva_message(n: int) -> str:
    """A message the offline router sends to reserva, numbered."""
    return f"quiero reservar una mesa, mensaje {n}"


async def post_chat(client: httpx.AsyncClient, message: str, session_id: str) -> httpx.Response:
    """One chat turn on its own connection (so the kernel picks any worker)."""
    return await client.post(
        "/api/agent/chat",
        json=chat_body(message, session_id),
        headers={"connection": "close"},
    )
