"""One company cannot use up the key's rate limit, and wrong keys are limited per client IP
(issue 21 items 4 and 9), over real HTTP with one shared API key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.orchestrator import RunningApp, StartApp, chat_body
from server.settings import Settings
from tests.security.conftest import assert_error

KEY = "clave-n8n-compartida"
ADMIN = {"X-API-Key": "clave-admin"}


def turn(app: RunningApp, company: int, session: str, key: str = KEY, **kw: Any) -> httpx.Response:
    body = chat_body("hola", session, id_empresa=company, **kw)
    return app.client.post("/api/agent/chat", json=body, headers={"X-API-Key": key})


@pytest.fixture(params=["memory", "redis"])
def limit_storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Per-process counts, then the shared Redis counts."""
    if request.param == "memory":
        return {}
    return {"REDIS_URL": request.getfixturevalue("redis_clean")}


def test_a_flooding_company_leaves_the_others_their_share(
    start_app: StartApp, limit_storage: dict[str, Any]
) -> None:
    app = start_app(
        LLM_MODE="offline",
        API_KEYS=KEY,
        ADMIN_API_KEYS=ADMIN["X-API-Key"],
        RATE_LIMIT_PER_MINUTE=10,
        COMPANY_RATE_LIMIT_PER_MINUTE=Settings.model_fields[
            "COMPANY_RATE_LIMIT_PER_MINUTE"
        ].default,
        **limit_storage,
    )
    assert app.settings.company_rate_limit == 5  # half of the key's limit by default
    flood = [turn(app, 101, f"a-{i}") for i in range(12)]
    assert [r.status_code for r in flood] == [200] * 5 + [429] * 7
    detail = assert_error(flood[-1], 429)
    assert "empresa" in detail and 1 <= int(flood[-1].headers["retry-after"]) <= 60
    # company 202's first message is answered (it got 429 when 101's flood used the key's limit)
    first = turn(app, 202, "b-0")
    assert first.status_code == 200, first.text
    assert first.json()["reply"]
    # the key's own limit still holds: 10 admitted turns in all, whichever the company
    assert [turn(app, 202, f"b-{i}").status_code for i in range(1, 5)] == [200] * 4
    shared = turn(app, 303, "c-0")
    assert "empresa" not in assert_error(shared, 429)
    assert app.client.get("/metrics", headers=ADMIN).json()["rate_limited"] == 8
    prom = app.client.get("/metrics/prometheus", headers=ADMIN).text
    assert 'orquestador_rate_limited_total{scope="company"} 7.0' in prom
    assert 'orquestador_rate_limited_total{scope="client"} 1.0' in prom


def test_requests_refused_before_the_company_is_known_still_count(start_app: StartApp) -> None:
    app = start_app(
        LLM_MODE="offline", API_KEYS=KEY, RATE_LIMIT_PER_MINUTE=2, COMPANY_RATE_LIMIT_PER_MINUTE=2
    )
    for i in range(2):  # 400 (too long) and 422-like bodies are counted against the key
        body = chat_body("x" * 5000, f"long-{i}", id_empresa=101)
        r = app.client.post("/api/agent/chat", json=body, headers={"X-API-Key": KEY})
        assert r.status_code == 400
    assert turn(app, 202, "after").status_code == 429


def test_zero_turns_the_company_limit_off(start_app: StartApp) -> None:
    app = start_app(
        LLM_MODE="offline", API_KEYS=KEY, RATE_LIMIT_PER_MINUTE=4, COMPANY_RATE_LIMIT_PER_MINUTE=0
    )
    assert [turn(app, 101, f"z-{i}").status_code for i in range(5)] == [200] * 4 + [429]


def test_wrong_keys_past_the_limit_block_the_address(start_app: StartApp) -> None:
    app = start_app(
        LLM_MODE="offline",
        API_KEYS=KEY,
        ADMIN_API_KEYS=ADMIN["X-API-Key"],
        AUTH_FAILURES_PER_MINUTE=Settings.model_fields["AUTH_FAILURES_PER_MINUTE"].default,
    )
    assert app.settings.AUTH_FAILURES_PER_MINUTE == 20
    wrong = [turn(app, 101, f"w-{i}", key=f"adivina-{i}") for i in range(30)]
    assert [r.status_code for r in wrong] == [401] * 20 + [429] * 10
    detail = assert_error(wrong[-1], 429)
    assert "clave" in detail and 1 <= int(wrong[-1].headers["retry-after"]) <= 60
    # the right key from the same address is refused too this minute (no guessing oracle) …
    right = turn(app, 101, "w-right")
    assert assert_error(right, 429) == detail.replace(
        wrong[-1].headers["retry-after"], right.headers["retry-after"]
    )
    # … and without a key; paths needing no key are not affected
    assert app.client.post("/api/agent/chat", json=chat_body("hola", "w-none")).status_code == 429
    assert app.client.get("/health").status_code == 200
    # another address is not blocked
    other = httpx.Client(
        base_url=app.url, transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30
    )
    with other:
        body = chat_body("hola", "w-other", id_empresa=101)
        r = other.post("/api/agent/chat", json=body, headers={"X-API-Key": KEY})
        assert r.status_code == 200, r.text
        assert (
            other.post("/api/agent/chat", json=body, headers={"X-API-Key": "x"}).status_code == 401
        )
        prom = other.get("/metrics/prometheus", headers=ADMIN).text
    # 10 wrong keys, the right key and no key: 12 refusals
    assert 'orquestador_rate_limited_total{scope="auth"} 12.0' in prom
    # even the admin key is refused from the blocked address this minute
    assert app.client.get("/metrics", headers=ADMIN).status_code == 429


def test_a_blocked_address_still_reaches_what_needs_no_key(start_app: StartApp) -> None:
    # chat keys off, admin keys on: wrong admin keys block /metrics, never the open chat API
    app = start_app(
        LLM_MODE="offline", ADMIN_API_KEYS=ADMIN["X-API-Key"], AUTH_FAILURES_PER_MINUTE=3
    )
    statuses = [
        app.client.get("/metrics", headers={"X-API-Key": "mala"}).status_code for _ in range(5)
    ]
    assert statuses == [401] * 3 + [429] * 2
    assert app.client.get("/metrics", headers=ADMIN).status_code == 429
    assert app.client.post("/api/agent/chat", json=chat_body("hola", "abierto")).status_code == 200


def test_the_openapi_document_declares_the_failed_auth_429(start_app: StartApp) -> None:
    app = start_app(
        LLM_MODE="offline",
        API_KEYS=KEY,
        ADMIN_API_KEYS=ADMIN["X-API-Key"],
        AUTH_FAILURES_PER_MINUTE=20,
    )
    paths = app.client.get("/openapi.json").json()["paths"]
    assert "429" in paths["/config"]["get"]["responses"]  # AUTH_FAILURES_PER_MINUTE on
    quiet = start_app(LLM_MODE="offline", API_KEYS=KEY, ADMIN_API_KEYS=ADMIN["X-API-Key"])
    assert quiet.settings.AUTH_FAILURES_PER_MINUTE == 0  # the test harness turns it off
    assert (
        "429"
        not in quiet.client.get("/openapi.json").json()["paths"]["/config"]["get"]["responses"]
    )
