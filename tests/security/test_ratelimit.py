"""Rate limits: per key (or IP), per session, Retry-After, metrics, and sharing through Redis."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
import redis

from harness.procs import free_port
from server.settings import Settings
from tests.security.conftest import Keys, assert_error, chat_body, serve, settings_for


def retry_after(response: httpx.Response) -> int:
    value = int(response.headers["retry-after"])
    assert 1 <= value <= 60, value
    return value


async def turn(client: httpx.AsyncClient, session: str, key: str | None = None) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return await client.post("/api/agent/chat", json=chat_body("hola", session), headers=headers)


async def test_per_key_limit_answers_429_with_retry_after(tmp_path: Path, keys: Keys) -> None:
    second = f"second-{keys.chat}"
    settings = settings_for(
        tmp_path,
        API_KEYS=f"{keys.chat},{second}",
        ADMIN_API_KEYS=keys.admin,
        RATE_LIMIT_PER_MINUTE=3,
        SESSION_RATE_LIMIT_PER_MINUTE=0,
    )
    async with serve(settings) as (app, client):
        for i in range(3):
            assert (await turn(client, f"k{i}", keys.chat)).status_code == 200
        limited = await turn(client, "k-extra", keys.chat)
        detail = assert_error(limited, 429)
        assert str(retry_after(limited)) in detail
        # the limit is per key: another key and the bearer form of another key still pass
        assert (await turn(client, "k-other", second)).status_code == 200
        r = await client.post(
            "/api/agent/chat",
            json=chat_body("hola", "k-bearer"),
            headers={"Authorization": f"Bearer {keys.admin}"},
        )
        assert r.status_code == 200
        # admin endpoints are not counted against the chat limit
        assert (await client.get("/metrics", headers={"X-API-Key": keys.admin})).status_code == 200
        metrics = (await client.get("/metrics", headers={"X-API-Key": keys.admin})).json()
        assert metrics["rate_limited"] == 1
        prom = (await client.get("/metrics/prometheus", headers={"X-API-Key": keys.admin})).text
        assert 'orquestador_rate_limited_total{scope="client"} 1.0' in prom
        assert app.state.services.metrics.requests_total == 5  # the 429 never reached a turn


async def test_per_ip_limit_when_keys_are_off(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, RATE_LIMIT_PER_MINUTE=2, SESSION_RATE_LIMIT_PER_MINUTE=0)
    async with serve(settings, client_ip="10.0.0.1") as (app, first):
        for i in range(2):
            assert (await turn(first, f"ip{i}")).status_code == 200
        retry_after(await turn(first, "ip-extra"))
        # a presented key means nothing while keys are off: still the same IP bucket
        assert (await turn(first, "ip-key", "anything")).status_code == 429
        other = httpx.AsyncClient(
            transport=httpx.ASGITransport(app, client=("10.0.0.2", 1)),
            base_url="http://orquestador",
        )
        async with other:
            assert (await turn(other, "ip-other")).status_code == 200


async def test_per_session_limit_spans_keys(tmp_path: Path, keys: Keys) -> None:
    settings = settings_for(
        tmp_path, **keys.env(), RATE_LIMIT_PER_MINUTE=0, SESSION_RATE_LIMIT_PER_MINUTE=2
    )
    async with serve(settings) as (app, client):
        session = "51987654321"
        assert (await turn(client, session, keys.chat)).status_code == 200
        assert (await turn(client, session, keys.admin)).status_code == 200
        limited = await turn(client, session, keys.chat)
        detail = assert_error(limited, 429)
        assert "conversación" in detail and session not in detail
        retry_after(limited)
        assert (await turn(client, "another-session", keys.chat)).status_code == 200
        # an integer session id is the same session as its digits
        r = await client.post(
            "/api/agent/chat",
            json=chat_body("hola", int(session)),
            headers={"X-API-Key": keys.chat},
        )
        assert r.status_code == 429
        # invalid input is refused (400) before it counts against the session
        long = chat_body("x" * 5000, "fresh-session")
        for _ in range(3):
            assert (
                await client.post("/api/agent/chat", json=long, headers={"X-API-Key": keys.chat})
            ).status_code == 400
        assert (await turn(client, "fresh-session", keys.chat)).status_code == 200
        assert app.state.services.metrics.rate_limited == 2


async def test_zero_disables_both_limits(tmp_path: Path, keys: Keys) -> None:
    settings = settings_for(
        tmp_path, **keys.env(), RATE_LIMIT_PER_MINUTE=0, SESSION_RATE_LIMIT_PER_MINUTE=0
    )
    async with serve(settings) as (app, client):
        for _ in range(25):
            assert (await turn(client, "no-limits", keys.chat)).status_code == 200
        assert app.state.services.metrics.rate_limited == 0


async def test_defaults_are_600_per_client_and_30_per_session(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        CHECKPOINT_DB=str(tmp_path / "c.sqlite"),
        LLM_MODE="offline",
        SESSION_TTL_SECONDS=0,
        MCP_RESERVA_ENABLED=False,
        MCP_CITA_ENABLED=False,
        MCP_VENTA_ENABLED=False,
    )
    assert (settings.RATE_LIMIT_PER_MINUTE, settings.SESSION_RATE_LIMIT_PER_MINUTE) == (600, 30)
    async with serve(settings) as (_, client):
        for _ in range(30):
            assert (await turn(client, "default-session")).status_code == 200
        assert "conversación" in assert_error(await turn(client, "default-session"), 429)
        # the per-IP limit is counted before the body is read: cheap 400s fill it up to 600
        for _ in range(600 - 31):
            r = await client.post("/api/agent/chat", json={})
            assert r.status_code == 400
        limited = await turn(client, "default-last")
        assert "Demasiadas solicitudes" in assert_error(limited, 429)


async def test_limits_are_shared_across_instances_through_redis(
    tmp_path: Path, keys: Keys, redis_clean: str
) -> None:
    """Two app instances (each with its own lifespan) on the same Redis share every counter."""
    common = {
        "API_KEYS": keys.chat,
        "ADMIN_API_KEYS": keys.admin,
        "REDIS_URL": redis_clean,
        "RATE_LIMIT_PER_MINUTE": 4,
        "SESSION_RATE_LIMIT_PER_MINUTE": 3,
    }
    run = uuid.uuid4().hex[:8]
    async with AsyncExitStack() as stack:
        _, a = await stack.enter_async_context(serve(settings_for(tmp_path / "a", **common)))
        _, b = await stack.enter_async_context(serve(settings_for(tmp_path / "b", **common)))
        session = f"shared-{run}"
        assert (await turn(a, session, keys.chat)).status_code == 200
        assert (await turn(b, session, keys.chat)).status_code == 200
        assert (await turn(a, session, keys.chat)).status_code == 200
        limited = await turn(b, session, keys.chat)  # 4th turn of the session, 3 allowed
        assert_error(limited, 429)
        assert "conversación" in limited.json()["detail"]
        assert (await turn(a, f"other-{run}", keys.chat)).status_code == 429  # key: 5 > 4
        retry_after(await turn(b, f"third-{run}", keys.chat))
        assert (await turn(b, f"admin-{run}", keys.admin)).status_code == 200
    client = redis.Redis.from_url(redis_clean)
    try:
        stored = [k.decode() if isinstance(k, bytes) else k for k in client.keys("*")]
    finally:
        client.close()
    assert stored and all(k.startswith("maravia:ratelimit") for k in stored), stored
    assert not [k for k in stored if keys.chat in k or session in k], stored


async def test_redis_down_falls_back_to_per_process_counts(tmp_path: Path, keys: Keys) -> None:
    """Nothing listens at REDIS_URL: turns are served, and this process still counts them."""
    port = free_port()
    settings = settings_for(
        tmp_path,
        **keys.env(),
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
        RATE_LIMIT_PER_MINUTE=0,
        SESSION_RATE_LIMIT_PER_MINUTE=2,
    )
    async with serve(settings) as (app, client):
        for _ in range(2):
            assert (await turn(client, "redis-down", keys.chat)).status_code == 200
        limited = await turn(client, "redis-down", keys.chat)
        assert "conversación" in assert_error(limited, 429)
        assert (await turn(client, "redis-down-2", keys.chat)).status_code == 200
        storage = (await client.get("/metrics", headers={"X-API-Key": keys.admin})).json()[
            "rate_limit_storage"
        ]
        assert storage["backend"] == "redis" and storage["breaker"] == "open", storage
        assert storage["storage_errors"] == 3 and storage["fallbacks"] == 4, storage
        assert app.state.services.security.limiter.storage_errors == 3


@pytest.mark.parametrize("path", ["/health", "/", "/ready"])
async def test_open_endpoints_are_not_rate_limited(tmp_path: Path, path: str) -> None:
    settings = settings_for(tmp_path, RATE_LIMIT_PER_MINUTE=1)
    async with serve(settings) as (_, client):
        for _ in range(5):
            assert (await client.get(path)).status_code == 200
