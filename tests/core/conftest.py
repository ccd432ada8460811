"""Fixtures for the core service tests: start the real app with chosen settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.openai_stub import OpenAIStub
from tests.support.orchestrator import RunningApp, orchestrator_settings

StartApp = Callable[..., RunningApp]


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[StartApp]:
    """start_app(agents={"reserva": url}, **SETTINGS) -> a running orchestrator (stopped after)."""
    running: list[RunningApp] = []

    def start(agents: dict[str, str] | None = None, wait_agents: float = 10.0,
              **overrides: Any) -> RunningApp:
        app = RunningApp(orchestrator_settings(tmp_path, agents, **overrides)).start(wait_agents)
        running.append(app)
        return app

    yield start
    for app in running:
        app.stop()


def model_settings(stub: OpenAIStub, **extra: Any) -> dict[str, Any]:
    """Settings that route with the real ChatOpenAI client against the stub."""
    return {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": stub.base_url, "LLM_MODE": "openai",
            "OPENAI_TIMEOUT": 5, "OPENAI_MAX_RETRIES": 0, **extra}


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
