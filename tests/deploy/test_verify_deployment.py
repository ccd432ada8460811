"""scripts/verify_deployment.sh against a live orchestrator, a leaky one and a dead port."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from harness import REPO_ROOT, orchestrator
from harness.asgi_thread import ThreadedASGIServer
from harness.procs import child_env, free_port, wait_for_http

SCRIPT = REPO_ROOT / "scripts" / "verify_deployment.sh"
CHECKS = ("health", "ready", "config", "metrics", "chat", "cleanup")
CHAT_KEY, ADMIN_KEY = "chat-key-for-verify-0001", "admin-key-for-verify-0002"
DB_PASSWORD = "VerifyDbPassw0rd"


def run_script(base_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), base_url],
        env=child_env(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def verdicts(output: str) -> dict[str, str]:
    """check name → PASS/FAIL from the script's lines."""
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("PASS", "FAIL"):
            found[parts[1]] = parts[0]
    return found


@pytest.fixture(scope="module")
def live_app(
    tmp_path_factory: pytest.TempPathFactory, pg_dsn: str
) -> Iterator[orchestrator.RunningApp]:
    """The real app with API keys, PostgreSQL behind a DATABASE_URL that carries a password."""
    scheme, rest = pg_dsn.split("://", 1)
    userinfo, host = rest.split("@", 1)
    settings = orchestrator.orchestrator_settings(
        tmp_path_factory.mktemp("verify"),
        LLM_MODE="offline",
        API_KEYS=CHAT_KEY,
        ADMIN_API_KEYS=ADMIN_KEY,
        DATABASE_URL=f"{scheme}://{userinfo}:{DB_PASSWORD}@{host}",
    )
    app = orchestrator.RunningApp(settings).start()
    wait_for_http(f"{app.url}/ready", timeout=20, any_status=False)  # deployed = ready first
    yield app
    app.stop()


def test_passes_against_a_live_instance(live_app: orchestrator.RunningApp) -> None:
    result = run_script(live_app.url, API_KEY=CHAT_KEY, ADMIN_API_KEY=ADMIN_KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == {name: "PASS" for name in CHECKS}
    assert "database password masked" in result.stdout
    for secret in (CHAT_KEY, ADMIN_KEY, DB_PASSWORD):
        assert secret not in result.stdout + result.stderr
    # the test turn was cleaned up afterwards
    stats = live_app.client.get("/memory/stats", headers={"X-API-Key": ADMIN_KEY}).json()
    assert not [s for s in stats["sessions"] if s.startswith("verify-deployment-")]


def test_fails_with_a_wrong_chat_key(live_app: orchestrator.RunningApp) -> None:
    result = run_script(live_app.url, API_KEY="not-the-key-000000", ADMIN_API_KEY=ADMIN_KEY)
    assert result.returncode != 0
    found = verdicts(result.stdout)
    assert found["chat"] == "FAIL" and found["health"] == found["config"] == "PASS"


def test_fails_against_a_dead_port() -> None:
    result = run_script(f"http://127.0.0.1:{free_port()}")
    assert result.returncode != 0
    assert verdicts(result.stdout) == {name: "FAIL" for name in CHECKS}
    assert "unreachable" in result.stdout


def _leaky_app(config: dict[str, Any]) -> Starlette:
    async def ok(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "orquestador"})

    async def ready(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ready", "checkpointer": "postgres"})

    async def show_config(_: Request) -> JSONResponse:
        return JSONResponse(config)

    async def metrics(_: Request) -> JSONResponse:
        return JSONResponse({"requests_total": 0, "circuit_breakers": {}})

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse(
            {
                "reply": "hola",
                "session_id": body["session_id"],
                "agent_used": None,
                "action": "respond",
            }
        )

    async def clear(request: Request) -> JSONResponse:
        return JSONResponse(
            {"message": f"Memoria limpiada para session_id: {request.path_params['sid']}"}
        )

    return Starlette(
        routes=[
            Route("/health", ok),
            Route("/ready", ready),
            Route("/config", show_config),
            Route("/metrics", metrics),
            Route("/api/agent/chat", chat, methods=["POST"]),
            Route("/memory/clear/{sid}", clear, methods=["POST"]),
        ]
    )


@pytest.mark.parametrize(
    "config",
    [
        {"openai_api_key": "sk-" + "a1B2c3D4" * 5},
        {"database_url": "postgresql://maravia:plaintext-pw@db:5432/maravia"},
        {"langsmith": {"api_key": "hunter2-but-longer"}},
    ],
    ids=["model-key", "db-password", "nested-key"],
)
def test_config_with_a_secret_fails(config: dict[str, Any]) -> None:
    server = ThreadedASGIServer(
        _leaky_app({"openai_model": "gpt-4o-mini", **config}), name="leaky"
    ).start()
    try:
        result = run_script(server.url)
    finally:
        server.stop()
    assert result.returncode != 0
    found = verdicts(result.stdout)
    assert found.pop("config") == "FAIL"
    assert set(found.values()) == {"PASS"}  # only the leak is reported
    assert "plaintext-pw" not in result.stdout and "a1B2c3D4" * 2 not in result.stdout
