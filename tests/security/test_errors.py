"""Every error is `{"detail": <Spanish>}`: no traceback, path, library, secret; 500s carry an id."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.observability.logging_config import OrchestratorJsonFormatter
from tests.security.conftest import Keys, assert_error, chat_body, serve, settings_for

SECRET = "sk-proj-ABCDEF1234567890abcdef"
BOOM = f"boom at /work/main/server/secret.py with {SECRET} for ana@example.com"


class Capture(logging.Handler):
    """Formats records with the app's JSON formatter."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(OrchestratorJsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def capture() -> Any:
    handler = Capture()
    root = logging.getLogger()
    # a dictConfig elsewhere in the session (disable_existing_loggers) may have disabled ours
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.split(".")[0] in ("server", "graph") and isinstance(logger, logging.Logger):
            logger.disabled = False
    for name in ("server", "graph"):
        logging.getLogger(name).addHandler(handler)
    yield handler
    for name in ("server", "graph"):
        logging.getLogger(name).removeHandler(handler)
    del root


async def test_404_405_and_odd_methods(tmp_path: Path, keys: Keys) -> None:
    async with serve(settings_for(tmp_path, **keys.env())) as (_, client):
        admin = {"X-API-Key": keys.admin}
        assert_error(await client.get("/no-existe"), 404)
        assert_error(await client.get("/api/agent/otro"), 404)
        assert_error(await client.get("/memory/nada", headers=admin), 404)
        assert_error(await client.get("/api/agent/chat", headers=admin), 405)
        assert_error(await client.put("/config", headers=admin), 405)
        assert_error(await client.delete("/memory/clear/x", headers=admin), 405)
        assert_error(await client.post("/health"), 405)
        assert_error(await client.request("TRACE", "/"), 405)
        r = await client.post(
            "/api/agent/chat", content=b"{}", headers={**admin, "content-type": "text/plain"}
        )
        assert_error(r, 400)


async def test_unexpected_error_in_a_turn_returns_an_id_and_hides_details(
    tmp_path: Path, keys: Keys, capture: Capture
) -> None:
    async with serve(settings_for(tmp_path, **keys.env())) as (app, client):

        async def explode(*_: Any, **__: Any) -> AsyncIterator[Any]:
            raise RuntimeError(BOOM)
            yield  # an async generator, as the graph's stream

        app.state.services.turns.graph.astream = explode
        r = await client.post(
            "/api/agent/chat", json=chat_body("hola", "err"), headers={"X-API-Key": keys.chat}
        )
        detail = assert_error(r, 500)
        ref = re.fullmatch(r"Error interno del servidor \(id: ([0-9a-f]{12})\)", detail)
        assert ref, detail
        assert SECRET not in r.text and "secret.py" not in r.text and "RuntimeError" not in r.text
    logged = [line for line in capture.lines if line["extra_fields"].get("error_id") == ref[1]]
    assert logged and logged[0]["level"] == "ERROR" and "RuntimeError" in logged[0]["exc_info"]
    text = json.dumps(capture.lines)
    assert SECRET not in text and "ana@example.com" not in text


async def test_unexpected_error_in_an_admin_endpoint(
    tmp_path: Path, keys: Keys, capture: Capture
) -> None:
    settings = settings_for(tmp_path, **keys.env())
    async with serve(settings, raise_app_exceptions=False) as (app, client):

        async def explode(*_: Any, **__: Any) -> Any:
            raise ValueError(BOOM)

        app.state.services.sessions.turns_by_session = explode
        r = await client.get("/memory/stats", headers={"Authorization": f"Bearer {keys.admin}"})
        detail = assert_error(r, 500)
        ref = re.search(r"\(id: ([0-9a-f]{12})\)", detail)
        assert ref and SECRET not in r.text
    assert any(line["extra_fields"].get("error_id") == ref[1] for line in capture.lines)
    assert SECRET not in json.dumps(capture.lines)


async def test_failure_inside_the_security_layer_is_still_opaque(
    tmp_path: Path, keys: Keys
) -> None:
    settings = settings_for(tmp_path, **keys.env(), RATE_LIMIT_PER_MINUTE=5)
    async with serve(settings, raise_app_exceptions=False) as (app, client):

        async def explode(*_: Any, **__: Any) -> Any:
            raise KeyError(SECRET)

        app.state.services.security.limiter.hit = explode
        r = await client.post(
            "/api/agent/chat", json=chat_body("hola", "err"), headers={"X-API-Key": keys.chat}
        )
        assert "(id: " in assert_error(r, 500) and SECRET not in r.text


async def test_model_not_configured_is_the_contract_500(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = settings_for(tmp_path, **keys.env(), LLM_MODE="openai")
    async with serve(settings) as (_, client):
        r = await client.post(
            "/api/agent/chat", json=chat_body("hola", "nokey"), headers={"X-API-Key": keys.chat}
        )
        assert r.status_code == 500 and r.json() == {"detail": "OPENAI_API_KEY no configurada"}


async def test_config_endpoint_never_shows_secrets(tmp_path: Path, keys: Keys) -> None:
    settings = settings_for(
        tmp_path,
        **keys.env(),
        OPENAI_API_KEY=SECRET,
        REDIS_URL="redis://:hunter2pass@127.0.0.1:1/0",
    )
    async with serve(settings) as (_, client):
        for path in ("/config", "/metrics", "/", "/openapi.json"):
            r = await client.get(path, headers={"X-API-Key": keys.admin})
            assert r.status_code == 200
            for secret in (SECRET, keys.chat, keys.admin, "hunter2pass"):
                assert secret not in r.text, (path, secret)


async def test_admin_memory_errors_are_409_and_503(tmp_path: Path, keys: Keys) -> None:
    import sqlite3

    settings = settings_for(tmp_path, **keys.env(), SESSION_LOCK_TIMEOUT=0.2, TURN_TIMEOUT=0.1)
    admin = {"X-API-Key": keys.admin}
    async with serve(settings) as (app, client):
        services = app.state.services
        async with services.locks.hold("busy-session", 5):
            detail = assert_error(
                await client.post("/memory/clear/busy-session", headers=admin), 409
            )
            assert "ocupada" in detail

        async def down(*_: Any, **__: Any) -> Any:
            raise sqlite3.OperationalError("database is locked at /secret/path.sqlite")

        services.sessions.turns_by_session = down
        services.sessions.clear = down
        for r in (
            await client.get("/memory/stats", headers=admin),
            await client.post("/memory/clear/x", headers=admin),
        ):
            assert "no está disponible" in assert_error(r, 503) and "secret" not in r.text
