"""Hostile bodies: 413 before parsing (Content-Length or chunked), 400 in Spanish, never 422."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import Keys, assert_error, chat_body, serve, settings_for

MiB = 1 << 20
URL = "/api/agent/chat"
JSON = {"content-type": "application/json"}


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"hoja": "x"}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


def with_config(**extra: Any) -> dict[str, Any]:
    body = chat_body("hola", "hostile")
    body["config"].update(extra)
    return body


async def chunks(total: int, size: int = 16384) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


@pytest.fixture
async def client(tmp_path: Path, keys: Keys) -> AsyncIterator[Any]:
    async with serve(settings_for(tmp_path, **keys.env())) as (app, http):
        http.headers["X-API-Key"] = keys.chat
        http.app = app  # type: ignore[attr-defined]  # the tests read the app's metrics
        yield http


async def test_body_over_the_limit_is_413_before_parsing(client: Any) -> None:
    detail = assert_error(await client.post(URL, content=b"x" * MiB, headers=JSON), 413)
    assert "65536" in detail
    r = await client.post(URL, content=chunks(MiB), headers=JSON)
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in r.request.headers
    assert_error(r, 413)
    # a lying Content-Length under the limit does not let a larger chunked stream through
    r = await client.post(URL, content=chunks(MiB), headers={**JSON, "content-length": "10"})
    assert r.status_code in (400, 413)
    assert client.app.state.services.metrics.requests_total == 0  # nothing reached a turn


async def test_body_at_the_limit_is_parsed(client: Any) -> None:
    body = json.dumps(chat_body("hola", "exact")).encode()
    padded = body + b" " * (65536 - len(body))
    assert len(padded) == 65536
    assert (await client.post(URL, content=padded, headers=JSON)).status_code == 200
    assert_error(await client.post(URL, content=padded + b" ", headers=JSON), 413)


async def test_body_limit_applies_to_every_endpoint(client: Any, keys: Keys) -> None:
    r = await client.post("/memory/clear/x", content=b"x" * MiB, headers={"X-API-Key": keys.admin})
    assert_error(r, 413)
    assert_error(await client.post("/health", content=chunks(MiB)), 413)


async def test_custom_max_body_bytes(tmp_path: Path) -> None:
    async with serve(settings_for(tmp_path, MAX_BODY_BYTES=2048)) as (_, http):
        assert (await http.post(URL, json=chat_body("hola", "small"))).status_code == 200
        detail = assert_error(await http.post(URL, json=chat_body("x" * 3000, "small")), 413)
        assert "2048" in detail


async def test_message_length(client: Any) -> None:
    detail = assert_error(await client.post(URL, json=chat_body("a" * 5000, "long")), 400)
    assert "'message'" in detail and "4000" in detail
    assert (await client.post(URL, json=chat_body("a" * 4000, "long"))).status_code == 200


async def test_custom_max_message_chars(tmp_path: Path) -> None:
    async with serve(settings_for(tmp_path, MAX_MESSAGE_CHARS=10)) as (_, http):
        assert "10" in assert_error(await http.post(URL, json=chat_body("a" * 11, "m")), 400)
        assert (await http.post(URL, json=chat_body("a" * 10, "m"))).status_code == 200


# NUL and lone surrogates in the message or config are cleaned, not refused (issue 14):
# tests/reliability/test_text_clean.py. In a session id they are still a 400.
BAD_BODIES: list[tuple[str, bytes | dict[str, Any], str | None]] = [
    ("malformed json", b'{"message": "hola", ', None),
    ("trailing garbage", json.dumps(chat_body("hola")).encode() + b"}", None),
    ("not an object", b'["hola"]', None),
    ("scalar", b'"hola"', None),
    ("json null", b"null", None),
    ("empty body", b"", None),
    ("invalid utf-8", b'{"message": "\xc3\x28\xff", "session_id": "s", "config": {}}', None),
    ("message null", {**chat_body("x"), "message": None}, "'message'"),
    ("message number", {**chat_body("x"), "message": 12}, "'message'"),
    ("message list", {**chat_body("x"), "message": ["hola"]}, "'message'"),
    ("message object", {**chat_body("x"), "message": {"$gt": ""}}, "'message'"),
    ("session null", {**chat_body("x"), "session_id": None}, "'session_id'"),
    ("session float", {**chat_body("x"), "session_id": 1.5}, "'session_id'"),
    ("session bool", {**chat_body("x"), "session_id": True}, "'session_id'"),
    ("session too long", chat_body("hola", "s" * 300), "'session_id'"),
    ("session NUL", chat_body("hola", "a\x00b"), "'session_id'"),
    ("config null", {**chat_body("x"), "config": None}, "'config'"),
    ("config list", {**chat_body("x"), "config": [1, 2]}, "'config'"),
    ("config string", {**chat_body("x"), "config": "{}"}, "'config'"),
    ("missing config", {"message": "hola", "session_id": "s"}, "'config'"),
    ("huge id_empresa", with_config(id_empresa=10**30), "'config.id_empresa'"),
    ("negative id_empresa", with_config(id_empresa=-1), "'config.id_empresa'"),
    ("float id_empresa", with_config(id_empresa=1.5), "'config.id_empresa'"),
    ("huge extra integer", with_config(extra=2**64), "'config.extra'"),
    ("huge slots", with_config(slots=10**40), "'config.slots'"),
    ("nombre_bot number", with_config(nombre_bot=5), "'config.nombre_bot'"),
    ("deep config", with_config(extra=nested(5)), "'config'"),
    ("many keys", with_config(**{f"k{i}": i for i in range(201)}), "'config'"),
    ("long list", with_config(lista=list(range(300))), "'config'"),
    ("long string", with_config(extra="x" * 4001), "'config'"),
    ("long known field", with_config(personalidad="x" * 4001), "'config'"),
    (
        "NaN",
        json.dumps(chat_body("hola")).replace('"canal"', '"x": NaN, "canal"').encode(),
        "'config.x'",
    ),
    (
        "Infinity",
        json.dumps(chat_body("hola")).replace('"canal"', '"x": Infinity, "canal"').encode(),
        "'config.x'",
    ),
    (
        "deep json",
        b'{"message": "hola", "session_id": "s", "config": ' + b"[" * 20000 + b"]" * 20000 + b"}",
        None,
    ),
    (
        "huge number literal",
        b'{"message": "hola", "session_id": ' + b"9" * 5000 + b', "config": {}}',
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "field"), [(b, f) for _, b, f in BAD_BODIES], ids=[name for name, _, _ in BAD_BODIES]
)
async def test_hostile_body_is_400_in_spanish(
    client: Any, body: bytes | dict[str, Any], field: str | None
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = await client.post(URL, content=content, headers=JSON)
    detail = assert_error(r, 400)
    if field:
        assert field in detail, detail


async def test_accepted_edge_cases(client: Any) -> None:
    """What the contract accepts must keep working under the limits."""
    ok = [
        chat_body("hola", 51987654321),
        with_config(extra=nested(4)),
        with_config(**{f"k{i}": i for i in range(150)}),
        with_config(extra="x" * 4000),
        with_config(id_empresa=2**63 - 1),
        chat_body("¿Tienen mesa? 😀 ñandú", "emoji"),
    ]
    for body in ok:
        r = await client.post(URL, json=body)
        assert r.status_code == 200, (r.text, str(body)[:200])


async def test_never_422(client: Any) -> None:
    """Every shape of validation failure is a 400, never FastAPI's default 422."""
    bodies: list[dict[str, Any]] = [
        {},
        {"message": ""},
        {"session_id": []},
        {"config": {"id_empresa": "x"}},
        with_config(agendar_usuario="tal vez"),
        with_config(duracion_cita_minutos="x"),
    ]
    for body in bodies:
        assert_error(await client.post(URL, json=body), 400)
    schema = (await client.get("/openapi.json")).json()
    assert "422" not in json.dumps(schema["paths"])
