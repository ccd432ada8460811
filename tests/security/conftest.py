"""Fixtures for the security tests: in-process apps (lifespan on) and unique keys per run."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from harness.http_agent import HttpAgent
from harness.orchestrator import chat_body, orchestrator_settings
from server.main import create_app
from server.settings import Settings

_LEAKS = (
    "Traceback",
    'File "',
    ".py",
    "Exception",
    "fastapi",
    "starlette",
    "pydantic",
    "uvicorn",
    "httpx",
    "langgraph",
    "Field required",
    "Input should",
    "Not Found",
    "Method Not Allowed",
    "There was an error",
    "Internal Server Error",
    "JSON decode",
    "value is not",
    "Disallowed CORS",
)
_SPANISH = re.compile(r"\b(el|la|los|las|de|del|no|en|un|una|es|debe)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Keys:
    """A chat key and an admin key, unique to this test run."""

    chat: str
    admin: str

    def env(self) -> dict[str, str]:
        return {"API_KEYS": self.chat, "ADMIN_API_KEYS": self.admin}


@pytest.fixture(scope="module")
def cita_agent() -> Iterator[HttpAgent]:
    """A plain-HTTP `cita` agent (flat body) for the module's tests."""
    with HttpAgent("cita", "flat") as agent:
        yield agent


@pytest.fixture
def cita(cita_agent: HttpAgent) -> HttpAgent:
    """The module's `cita` agent, its record of calls and faults reset."""
    cita_agent.state.reset()
    return cita_agent


@pytest.fixture
def keys() -> Keys:
    run = uuid.uuid4().hex
    return Keys(chat=f"chat-{run}", admin=f"admin-{run}")


def settings_for(
    tmp_path: Path, agents: dict[str, str] | None = None, /, **overrides: Any
) -> Settings:
    """The shared test settings (isolated from `.env`, no rate limits unless a test sets them),
    with the offline router by default."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    return orchestrator_settings(tmp_path, agents, **{"LLM_MODE": "offline", **overrides})


@asynccontextmanager
async def serve(
    settings: Settings,
    client_ip: str = "127.0.0.1",
    raise_app_exceptions: bool = True,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real app with its lifespan, called in-process through httpx's ASGI transport."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(
            app, client=(client_ip, 40000), raise_app_exceptions=raise_app_exceptions
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://orquestador", timeout=30
        ) as client:
            yield app, client


def assert_error(response: httpx.Response, status: int) -> str:
    """The response is `{"detail": <Spanish sentence>}` with this status and no leak; its detail."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str), body
    detail = body["detail"]
    assert detail.strip() and _SPANISH.search(detail), detail
    leaked = [marker for marker in _LEAKS if marker.lower() in detail.lower()]
    assert not leaked, (leaked, detail)
    return detail


__all__ = ["Keys", "assert_error", "chat_body", "serve", "settings_for"]
