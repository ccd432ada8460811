"""Settings are read once, when the app is built: middleware works without the lifespan, and a
bad setting stops `uvicorn server.main:app` with one line per variable and exit code 3."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import cast

import httpx
import pytest

from harness.procs import child_env, free_port
from server.main import BAD_SETTINGS_EXIT, create_app
from server.routes.dependencies import STARTING
from server.security.cors import REFUSED
from tests.security.conftest import Keys, assert_error, chat_body, settings_for

BAD_ENV = {"MCP_TIMEOUT": "-1", "LLM_MODE": "bogus", "API_KEYS": "never-shown-key"}
EXPECTED = ["Invalid setting LLM_MODE", "Invalid setting MCP_TIMEOUT"]


def run_uvicorn(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uvicorn", "server.main:app", "--port", str(free_port()), *extra],
        env=child_env(BAD_ENV),
        check=False,
        cwd=tmp_path,  # no stray .env
        capture_output=True,
        text=True,
        timeout=60,
    )


def setting_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Invalid setting")]


def test_bad_setting_exits_3_with_one_line_per_variable(tmp_path: Path) -> None:
    proc = run_uvicorn(tmp_path)
    assert proc.returncode == BAD_SETTINGS_EXIT == 3, proc.stderr
    lines = setting_lines(proc.stderr)
    assert [line.split(":")[0] for line in lines] == EXPECTED
    assert proc.stderr.strip().splitlines() == lines  # nothing else: no traceback, no noise
    assert "never-shown-key" not in proc.stderr


def test_bad_setting_stops_every_worker_and_the_supervisor(tmp_path: Path) -> None:
    proc = run_uvicorn(tmp_path, "--workers", "2")
    assert "Traceback" not in proc.stderr
    assert {line.split(":")[0] for line in setting_lines(proc.stderr)} == set(EXPECTED)
    assert "failed to start, stopping the parent process" in proc.stderr


async def test_middleware_is_configured_before_the_lifespan(tmp_path: Path, keys: Keys) -> None:
    """No lifespan has run: auth, the body limit and CORS already answer from the settings."""
    settings = settings_for(
        tmp_path, **keys.env(), MAX_BODY_BYTES=2048, CORS_ORIGINS="https://panel.example"
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app)  # httpx never runs the lifespan
    async with httpx.AsyncClient(transport=transport, base_url="http://orquestador") as client:
        assert_error(await client.post("/api/agent/chat", json=chat_body("hola")), 401)
        big = {"X-API-Key": keys.chat, "content-type": "application/json"}
        assert_error(await client.post("/api/agent/chat", content=b"x" * 4096, headers=big), 413)
        preflight = {
            "Origin": "https://panel.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key",
        }
        ok = await client.options("/api/agent/chat", headers=preflight)
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://panel.example"
        refused = await client.options(
            "/api/agent/chat", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert assert_error(refused, 400) == REFUSED
        # the OpenAPI document knows the keys without the lifespan, and is decorated once
        schema = (await client.get("/openapi.json")).json()
        assert set(schema["components"]["securitySchemes"]) == {"ApiKeyHeader", "BearerAuth"}
        assert app.openapi() is app.openapi()
        chat_op = schema["paths"]["/api/agent/chat"]["post"]
        assert {"401", "413", "429"} <= set(chat_op["responses"])
        # only what needs the lifespan's resources answers 503 (one check, in the dependency)
        r = await client.get("/config", headers={"X-API-Key": keys.admin})
        assert assert_error(r, 503) == STARTING


@pytest.mark.parametrize("origins", ["", "https://panel.example"])
async def test_cors_layer_only_when_origins_are_set(tmp_path: Path, origins: str) -> None:
    app = create_app(settings_for(tmp_path, CORS_ORIGINS=origins))
    names = [cast(type, m.cls).__name__ for m in app.user_middleware]  # Starlette: a protocol
    assert ("SpanishCORSMiddleware" in names) == bool(origins)
    assert names[-3:] == ["AuthMiddleware", "ClientRateLimitMiddleware", "BodyLimitMiddleware"]
