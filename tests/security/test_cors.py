"""CORS: no origin by default, an explicit allowlist, no `*` with credentials, Spanish refusals."""

from __future__ import annotations

from pathlib import Path

from tests.security.conftest import Keys, assert_error, chat_body, serve, settings_for

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, x-api-key",
}


async def test_no_origin_is_allowed_by_default(tmp_path: Path) -> None:
    async with serve(settings_for(tmp_path)) as (_, client):
        r = await client.get("/health", headers={"Origin": "https://chat.example.com"})
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        r = await client.options(
            "/api/agent/chat", headers={"Origin": "https://chat.example.com", **PREFLIGHT}
        )
        assert "access-control-allow-origin" not in r.headers
        assert_error(r, 405)


async def test_allowlisted_origin(tmp_path: Path, keys: Keys) -> None:
    origin = "https://chat.example.com"
    settings = settings_for(
        tmp_path, **keys.env(), CORS_ORIGINS=f"{origin}, https://otro.example.com"
    )
    async with serve(settings) as (_, client):
        r = await client.options("/api/agent/chat", headers={"Origin": origin, **PREFLIGHT})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == origin
        assert "x-api-key" in r.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in r.headers
        r = await client.post(
            "/api/agent/chat",
            json=chat_body("hola", "cors"),
            headers={"Origin": origin, "X-API-Key": keys.chat},
        )
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
        assert "retry-after" in r.headers["access-control-expose-headers"].lower()
        # errors carry the CORS headers too, so the browser can read the Spanish detail
        r = await client.post(
            "/api/agent/chat", json=chat_body("hola", "cors"), headers={"Origin": origin}
        )
        assert_error(r, 401)
        assert r.headers["access-control-allow-origin"] == origin
        # another origin: refused preflight in Spanish, no allow-origin on simple requests
        evil = "https://evil.example.net"
        r = await client.options("/api/agent/chat", headers={"Origin": evil, **PREFLIGHT})
        assert_error(r, 400)
        assert "access-control-allow-origin" not in r.headers
        r = await client.get("/health", headers={"Origin": evil})
        assert "access-control-allow-origin" not in r.headers


async def test_wildcard_never_with_credentials(tmp_path: Path) -> None:
    async with serve(settings_for(tmp_path, CORS_ORIGINS="*")) as (_, client):
        r = await client.options(
            "/api/agent/chat", headers={"Origin": "https://any.example", **PREFLIGHT}
        )
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers
        r = await client.get(
            "/health", headers={"Origin": "https://any.example", "Cookie": "session=1"}
        )
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers
