"""Agent test helpers: real server subprocesses on free loopback ports, MCP calls, SQLite."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

REPO_ROOT = Path(__file__).resolve().parents[2]
RESERVED_PORTS = range(8000, 8005)
LIMA = timezone(timedelta(hours=-5))


def free_port() -> int:
    """A free 127.0.0.1 port outside the services' default range 8000-8004."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


class ServerProc:
    """`python -m <module>` on a loopback port, logging to a file; restartable on the same db."""

    def __init__(
        self,
        module: str,
        workdir: Path,
        *,
        db: Path | None = None,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        port_via_env: str = "",
    ) -> None:
        self.module, self.workdir, self.db = module, workdir, db
        self.args, self.extra_env, self.port_via_env = list(args), env or {}, port_via_env
        self.port = free_port()
        self.log = workdir / f"{module.rsplit('.', 1)[-1]}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def start(self) -> ServerProc:
        env = dict(
            os.environ,
            PYTHONUNBUFFERED="1",
            NO_PROXY="127.0.0.1,localhost",
            PYTHONPATH=str(REPO_ROOT),
            **self.extra_env,
        )
        argv = [sys.executable, "-m", self.module, "--host", "127.0.0.1", *self.args]
        if self.port_via_env:
            env[self.port_via_env] = str(self.port)
        else:
            argv += ["--port", str(self.port)]
        if self.db is not None and "--db" not in self.args and not self.port_via_env:
            argv += ["--db", str(self.db)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, cwd=self.workdir, env=env, stdout=out, stderr=out)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited early:\n{self.log.read_text()}")
            try:
                if (
                    httpx.get(f"{self.base}/health", timeout=1.0, trust_env=False).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.module} not ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("agents")


def start_agent(module: str, workdir: Path, **kwargs: Any) -> Iterator[ServerProc]:
    """Generator body for module fixtures: start, yield, always stop."""
    server = ServerProc(module, workdir, **kwargs)
    try:
        yield server.start()
    finally:
        server.stop()


@asynccontextmanager
async def mcp_session(url: str) -> AsyncIterator[ClientSession]:
    timeout = httpx.Timeout(30.0, read=60.0)
    async with (
        httpx.AsyncClient(trust_env=False, timeout=timeout) as client,
        streamable_http_client(url, http_client=client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call(url: str, tool: str, **arguments: Any) -> CallToolResult:
    """One tool call over a fresh MCP session (as an orchestrator without a held session would)."""
    async with mcp_session(url) as session:
        return await asyncio.wait_for(session.call_tool(tool, arguments), 30)


def text(result: CallToolResult) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a successful call (fails the test with the error text otherwise)."""
    assert not result.isError, text(result)
    assert result.structuredContent is not None
    return result.structuredContent


def assert_spanish_error(result: CallToolResult, *fragments: str) -> str:
    """isError with Spanish text containing every fragment, and no Python internals."""
    msg = text(result)
    assert result.isError, f"expected an error, got: {msg}"
    for fragment in fragments:
        assert fragment.lower() in msg.lower(), f"{fragment!r} not in {msg!r}"
    for leak in ("Traceback", "Error executing tool", "validation error", "pydantic", "Exception"):
        assert leak not in msg, msg
    return msg


def rows(db: Path | None, sql: str, *params: Any) -> list[dict[str, Any]]:
    assert db is not None, "the agent runs without a --db file"
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def lima_today() -> date:
    return datetime.now(LIMA).date()


def upcoming(weekday: int, min_days: int) -> date:
    """The first date with that weekday (0 = Monday) at least `min_days` after today in Lima."""
    day = lima_today() + timedelta(days=min_days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def chat_context(session_id: str, fecha_iso: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "nombre_bot": "Mara",
        "id_empresa": 1,
        "rol_bot": "asistente",
        "tipo_bot": "ventas",
        "objetivo_principal": "atender",
    }
    config["fecha_iso"] = fecha_iso or lima_today().isoformat()
    return {"session_id": session_id, "config": config}


async def chat(url: str, session_id: str, message: str, fecha_iso: str | None = None) -> str:
    result = await call(
        url,
        "chat",
        message=message,
        session_id=session_id,
        context=chat_context(session_id, fecha_iso),
    )
    assert not result.isError, text(result)
    reply = text(result)
    assert reply.strip()
    return reply
