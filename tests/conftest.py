"""Shared fixtures: OpenAI stub, MCP test agents, context server, PostgreSQL, Redis, loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.agents import AgentFactory
from harness.context_server import ContextServer
from harness.openai_stub import OpenAIStub
from harness.orchestrator import (
    RunningApp,
    StartApp,
    orchestrator_settings,
)
from harness.procs import LOOPBACK_NO_PROXY
from harness.services import (
    ServiceUnavailable,
    claimed_redis_db,
    temporary_database,
)

SECRET_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_ORGANIZATION",
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
)


@pytest.fixture(scope="session", autouse=True)
def _loopback_only() -> Iterator[None]:
    """No real OpenAI/LangSmith credentials or endpoints, no tracing, no proxy for loopback."""
    with pytest.MonkeyPatch.context() as mp:
        for var in SECRET_VARS:
            mp.delenv(var, raising=False)
        for var in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
            mp.setenv(var, "false")
        mp.setenv("NO_PROXY", LOOPBACK_NO_PROXY)
        mp.setenv("no_proxy", LOOPBACK_NO_PROXY)
        yield


# -- OpenAI stub -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def openai_stub_server() -> Iterator[OpenAIStub]:
    """The session's stub server (not reset per test: prefer `openai_stub` in tests)."""
    with OpenAIStub() as stub:
        yield stub


@pytest.fixture
def openai_stub(
    openai_stub_server: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OpenAIStub]:
    """The stub, reset for this test; OPENAI_BASE_URL / OPENAI_API_KEY point at it."""
    stub = openai_stub_server
    stub.reset()
    for key, value in stub.env().items():
        monkeypatch.setenv(key, value)
    yield stub
    errors = list(stub.errors)
    stub.reset()
    if errors:
        pytest.fail("the OpenAI stub's handler raised:\n" + "\n".join(errors), pytrace=False)


# -- MCP test agents ---------------------------------------------------------------------------
def _factory(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentFactory]:
    factory = AgentFactory(kind, tmp_path_factory.mktemp(f"{kind}-agents"))
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def chat_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentFactory]:
    """Factory of conversational MCP agents: chat_agent("reserva", session_id_type="int")."""
    yield from _factory("chat", tmp_path_factory)


@pytest.fixture(scope="module")
def tool_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentFactory]:
    """Factory of tool-server MCP agents (listar_servicios, crear_reserva)."""
    yield from _factory("tool", tmp_path_factory)


# -- business context --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def context_server_session() -> Iterator[ContextServer]:
    """The session's context server (not reset per test: prefer `context_server`)."""
    with ContextServer() as server:
        yield server


@pytest.fixture
def context_server(context_server_session: ContextServer) -> Iterator[ContextServer]:
    """The business-context server, reset for this test."""
    context_server_session.reset()
    yield context_server_session
    context_server_session.reset()


# -- PostgreSQL and Redis (never skipped: missing services fail) -------------------------------
@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """DSN of a fresh database on 127.0.0.1:5432 for this session, dropped at the end."""
    try:
        with temporary_database() as dsn:
            yield dsn
    except ServiceUnavailable as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """redis://127.0.0.1:6379/N, a db number claimed for this session (flushed before/after)."""
    try:
        with claimed_redis_db() as url:
            yield url
    except ServiceUnavailable as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def redis_clean(redis_url: str) -> str:
    """`redis_url`, flushed before this test."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


# -- the orchestrator ------------------------------------------------------------------------------
@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[StartApp]:
    """start_app(agents={"reserva": url}, **SETTINGS) -> a running orchestrator (stopped after)."""
    running: list[RunningApp] = []

    def start(
        agents: dict[str, str] | None = None, wait_agents: float = 10.0, **overrides: Any
    ) -> RunningApp:
        app = RunningApp(orchestrator_settings(tmp_path, agents, **overrides)).start(wait_agents)
        running.append(app)
        return app

    yield start
    for app in running:
        app.stop()


@pytest.fixture
def pg_url(pg_dsn: str) -> Iterator[str]:
    """A DATABASE_URL on a schema of its own in the session's test database (dropped after)."""
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{pg_dsn}?options=-csearch_path%3D{schema}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings selecting each checkpoint backend in turn (the same test runs on both)."""
    if request.param == "sqlite":
        return {}
    return {"DATABASE_URL": request.getfixturevalue("pg_url")}


# -- tiers: markers from the fixtures a test uses ----------------------------------------------
PG_FIXTURES = frozenset({"pg_dsn", "pg_url"})
REDIS_FIXTURES = frozenset({"redis_url", "redis_clean"})
BROWSER_FIXTURES = frozenset({"browser"})
PROCESS_FIXTURES = frozenset(
    {"start_app", "openai_stub_server", "chat_agent", "tool_agent", "context_server_session"}
)
FAST_DIR = Path(__file__).resolve().parent / "fast"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test's tier: `fast` (tests/fast/ and files marked so: in memory, no service,
    no process), else `slow`; and `pg`, `redis`, `browser` by the fixtures it uses.

    A fast test that asks for a service or a process is a collection error, so the fast tier
    stays runnable without PostgreSQL, Redis, Chromium or subprocesses.
    """
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if used & PG_FIXTURES or (callspec and callspec.params.get("storage") == "postgres"):
            item.add_marker(pytest.mark.pg)
        if used & REDIS_FIXTURES:
            item.add_marker(pytest.mark.redis)
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if FAST_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.fast)
        if item.get_closest_marker("fast") is None:
            item.add_marker(pytest.mark.slow)
            continue
        heavy = used & (PG_FIXTURES | REDIS_FIXTURES | BROWSER_FIXTURES | PROCESS_FIXTURES)
        if heavy or any(item.get_closest_marker(m) for m in ("pg", "redis", "browser")):
            raise pytest.UsageError(
                f"{item.nodeid} is in the fast tier but uses {sorted(heavy) or 'a service'}"
            )
