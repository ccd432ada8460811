"""API keys: the endpoint × key matrix, both header forms, open mode and the admin fallback rule."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.observability.metrics import Metrics
from server.security import auth
from server.security.auth import KeyRing
from server.security.guard import build_guard
from tests.security.conftest import Keys, assert_error, chat_body, serve, settings_for

CHAT = [("POST", "/api/agent/chat"), ("POST", "/api/agent/chat/stream")]
ADMIN = [
    ("GET", "/config"),
    ("GET", "/memory/stats"),
    ("POST", "/memory/clear/s-auth"),
    ("GET", "/metrics"),
    ("GET", "/metrics/prometheus"),
]
OPEN = [
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
]
KINDS = ("none", "wrong", "chat", "admin")

# Expected status per endpoint class and key kind, with API_KEYS and ADMIN_API_KEYS both set.
EXPECTED = {
    "chat": {"none": 401, "wrong": 401, "chat": 200, "admin": 200},
    "admin": {"none": 401, "wrong": 401, "chat": 403, "admin": 200},
    "open": {"none": 200, "wrong": 200, "chat": 200, "admin": 200},
}


def headers_for(kind: str, keys: Keys, form: str) -> dict[str, str]:
    key = {
        "none": None,
        "wrong": "not-a-key-" + keys.chat[-8:],
        "chat": keys.chat,
        "admin": keys.admin,
    }[kind]
    if key is None:
        return {}
    return {"X-API-Key": key} if form == "x-api-key" else {"Authorization": f"Bearer {key}"}


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    session: str = "auth-1",
) -> httpx.Response:
    body: Any = chat_body("hola", session) if path.startswith("/api/") else None
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("form", ["x-api-key", "bearer"])
async def test_auth_matrix(tmp_path: Path, keys: Keys, form: str) -> None:
    settings = settings_for(tmp_path, **keys.env())
    seen: dict[tuple[str, str], int] = {}
    async with serve(settings) as (_, client):
        for kind in KINDS:
            for group, endpoints in (("chat", CHAT), ("admin", ADMIN), ("open", OPEN)):
                for method, path in endpoints:
                    r = await call(
                        client,
                        method,
                        path,
                        headers_for(kind, keys, form),
                        session=f"auth-{kind}-{form}",
                    )
                    seen[(f"{method} {path}", kind)] = r.status_code
                    expected = EXPECTED[group][kind]
                    if expected == 200:
                        assert r.status_code == 200, (method, path, kind, r.text)
                    else:
                        detail = assert_error(r, expected)
                        if expected == 401:
                            assert r.headers["www-authenticate"] == "Bearer"
                            assert ("Falta" in detail) == (kind == "none"), detail
    assert len(seen) == len(KINDS) * (len(CHAT) + len(ADMIN) + len(OPEN))


async def test_keys_unset_everything_is_open(tmp_path: Path) -> None:
    async with serve(settings_for(tmp_path)) as (_, client):
        for method, path in CHAT + ADMIN + OPEN:
            r = await call(client, method, path, {})
            assert r.status_code == 200, (method, path, r.text)
        r = await call(client, "GET", "/config", {"X-API-Key": "whatever"})
        assert r.status_code == 200


async def test_admin_keys_unset_locks_admin_when_chat_keys_are_set(
    tmp_path: Path, keys: Keys
) -> None:
    async with serve(settings_for(tmp_path, API_KEYS=keys.chat)) as (_, client):
        assert (
            await call(client, "POST", "/api/agent/chat", {"X-API-Key": keys.chat})
        ).status_code == 200
        for method, path in ADMIN:
            assert_error(await call(client, method, path, {"X-API-Key": keys.chat}), 403)
            assert_error(await call(client, method, path, {}), 401)


async def test_only_admin_keys_set_leaves_chat_open(tmp_path: Path, keys: Keys) -> None:
    async with serve(settings_for(tmp_path, ADMIN_API_KEYS=keys.admin)) as (_, client):
        assert (await call(client, "POST", "/api/agent/chat", {})).status_code == 200
        for method, path in ADMIN:
            assert_error(await call(client, method, path, {}), 401)
            assert_error(await call(client, method, path, {"X-API-Key": "otra"}), 401)
            r = await call(client, method, path, {"Authorization": f"Bearer {keys.admin}"})
            assert r.status_code == 200


async def test_several_keys_and_header_variants(tmp_path: Path, keys: Keys) -> None:
    settings = settings_for(
        tmp_path, API_KEYS=f" {keys.chat} , second-{keys.chat} ", ADMIN_API_KEYS=keys.admin
    )
    async with serve(settings) as (_, client):
        ok = [
            {"X-API-Key": f"second-{keys.chat}"},
            {"authorization": f"bearer {keys.chat}"},
            {"Authorization": f"BEARER   {keys.chat}"},
            {"X-API-Key": "wrong", "Authorization": f"Bearer {keys.chat}"},
        ]
        for headers in ok:
            r = await call(client, "POST", "/api/agent/chat", headers, session="variants")
            assert r.status_code == 200, (headers, r.text)
        bad = [
            {"Authorization": f"Basic {keys.chat}"},
            {"Authorization": keys.chat},
            {"X-API-Key": keys.chat.upper()},
            {"X-API-Key": keys.chat + " x"},
            {"X-API-Key": ""},
            {"Authorization": "Bearer "},
        ]
        for headers in bad:
            assert_error(await call(client, "POST", "/api/agent/chat", headers), 401)
        # an admin key presented next to a chat key still opens the admin endpoints
        r = await client.get(
            "/config", headers={"X-API-Key": keys.chat, "Authorization": f"Bearer {keys.admin}"}
        )
        assert r.status_code == 200


async def test_auth_runs_before_the_body_is_read(tmp_path: Path, keys: Keys) -> None:
    """No key: 401 even for a malformed, oversized or unknown-method request."""
    async with serve(settings_for(tmp_path, **keys.env())) as (_, client):
        for content in (b"{not json", b"x" * (1 << 20)):
            r = await client.post(
                "/api/agent/chat", content=content, headers={"content-type": "application/json"}
            )
            assert_error(r, 401)
        assert_error(await client.get("/api/agent/chat"), 401)
        assert_error(await client.post("/api/agent/chat/", json={}), 401)
        assert_error(await client.delete("/memory/clear/x"), 401)


def test_key_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every configured key is compared (compare_digest on equal-length digests), match or not."""
    calls: list[tuple[int, int]] = []
    real = auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    ring = KeyRing(["c1", "c2-longer-key", "c3"], ["a1", "a2"])
    for presented, role in (
        ("c1", "chat"),
        ("a2", "admin"),
        ("nope", None),
        ("", None),
        ("c3", "chat"),
    ):
        calls.clear()
        assert ring.role_of(presented) == role
        assert len(calls) == 5 and all(pair == (32, 32) for pair in calls)


async def test_startup_warns_when_keys_are_unset(tmp_path: Path, keys: Keys) -> None:
    handler = logging.handlers.BufferingHandler(capacity=10_000)  # keeps every record
    records = handler.buffer
    logger = logging.getLogger("server.security.guard")
    logger.addHandler(handler)
    try:
        async with build_guard(settings_for(tmp_path), Metrics()).connect():
            pass
        warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
        assert any("API_KEYS is not set" in w for w in warnings), warnings
        records.clear()
        async with build_guard(settings_for(tmp_path, **keys.env()), Metrics()).connect():
            pass
        assert not [r for r in records if r.levelno >= logging.WARNING]
        assert keys.chat not in str([r.__dict__ for r in records])
    finally:
        logger.removeHandler(handler)
