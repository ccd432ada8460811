"""`Prefer: respond-async` on POST /api/agent/chat: validated as a synchronous turn, answered
202 at once, the reply delivered signed to a real receiver; without the header nothing changes."""

from __future__ import annotations

import json
import time

import httpx

from harness.agents import AgentFactory
from harness.orchestrator import StartApp, chat_body
from harness.webhook_receiver import WebhookReceiver
from server.webhooks.async_turns import NO_WEBHOOK

from .conftest import ASYNC, BOOK, hook_settings, post_async, signed


def test_202_before_a_slow_agent_then_a_signed_reply(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva", fresh=True, delay=3)
    app = start_app({"reserva": agent.url}, **hook_settings(receiver))
    started = time.monotonic()
    accepted = post_async(app.client, BOOK, 51987654321)
    answered_in = time.monotonic() - started
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["preference-applied"] == "respond-async"
    body = accepted.json()
    assert body["status"] == "processing"
    assert body["session_id"] == 51987654321 and isinstance(body["session_id"], int)
    assert body["request_id"] == accepted.headers["x-request-id"]
    # the 202 came while the agent was still working on the turn
    assert receiver.deliveries == []
    assert answered_in < 3
    (delivery,) = receiver.wait(1, timeout=60)
    assert signed(delivery)
    assert delivery.headers["content-type"] == "application/json"
    event = delivery.json()
    assert delivery.headers["x-orquestador-delivery"] == event["delivery_id"]
    assert event["event"] == "reply"
    assert event["request_id"] == body["request_id"]
    assert event["session_id"] == 51987654321 and isinstance(event["session_id"], int)
    assert event["id_empresa"] == 12
    assert event["reply"] == f"[reserva] recibido: {BOOK} (turno 1)"
    assert event["agent_used"] == "reserva" and event["action"] == "delegate"
    assert event["url"] is None
    assert event["time"].endswith("Z")
    # the same fields as the synchronous answer, plus the event's own
    sync = app.chat(BOOK, 51987654321).json()
    assert set(sync) | {"event", "request_id", "id_empresa", "delivery_id", "time"} == set(event)
    assert sync["reply"].endswith("(turno 2)")  # the async turn was stored like a sync one
    # a tampered body does not verify
    tampered = type(delivery)(**{**delivery.__dict__, "body": delivery.body.replace(b"1", b"2")})
    assert not signed(tampered)


def test_without_the_header_nothing_changes_and_the_stream_ignores_it(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva")
    app = start_app({"reserva": agent.url}, **hook_settings(receiver))
    plain = app.chat(BOOK, "plain")
    assert plain.status_code == 200 and "preference-applied" not in plain.headers
    assert set(plain.json()) == {"reply", "session_id", "agent_used", "action", "url"}
    other = app.client.post(
        "/api/agent/chat", json=chat_body(BOOK, "other"), headers={"Prefer": "return=minimal"}
    )
    assert other.status_code == 200 and "preference-applied" not in other.headers
    # /chat/stream: the preference is ignored (a stream is the live answer)
    names = []
    with app.client.stream(
        "POST", "/api/agent/chat/stream", json=chat_body(BOOK, "stream"), headers=ASYNC
    ) as response:
        assert response.status_code == 200
        assert "preference-applied" not in response.headers
        for line in response.iter_lines():
            if line.startswith("event:"):
                names.append(line.split(":", 1)[1].strip())
    assert names[0] == "routing" and names[-1] == "done"
    time.sleep(1.5)  # a worker poll or more: nothing was queued for delivery
    assert receiver.deliveries == []


def test_the_preference_is_parsed_as_rfc_7240_says(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva")
    app = start_app({"reserva": agent.url}, **hook_settings(receiver))
    for value in ("Respond-Async", "wait=10, respond-async", "respond-async; foo=bar"):
        body = chat_body(BOOK, f"pref-{value}")
        r = app.client.post("/api/agent/chat", json=body, headers={"Prefer": value})
        assert r.status_code == 202, value
    receiver.wait(3, timeout=60)


def test_without_a_webhook_the_header_is_a_400_naming_the_setting(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva")
    bare = start_app({"reserva": agent.url}, LLM_MODE="offline")
    r = post_async(bare.client)
    assert r.status_code == 400
    assert r.json() == {"detail": NO_WEBHOOK} and "REPLY_WEBHOOK_URL" in NO_WEBHOOK
    assert bare.chat(BOOK).status_code == 200  # synchronous turns are unaffected
    # a map for another company only: this company has no webhook
    other = start_app(
        {"reserva": agent.url},
        LLM_MODE="offline",
        REPLY_WEBHOOK_URLS={99: receiver.url},
        WEBHOOK_SECRET="s",
    )
    assert post_async(other.client).status_code == 400
    assert post_async(other.client, id_empresa=99).status_code == 202
    (delivery,) = receiver.wait(1, timeout=60)
    assert delivery.json()["id_empresa"] == 99


def test_validated_exactly_like_a_synchronous_turn(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva")
    app = start_app(
        {"reserva": agent.url},
        **hook_settings(receiver),
        API_KEYS="clave-chat",
        MAX_BODY_BYTES=2048,
        MAX_MESSAGE_CHARS=100,
        SESSION_RATE_LIMIT_PER_MINUTE=2,
    )
    key = {"X-API-Key": "clave-chat"}

    def both(body: object, headers: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
        content = json.dumps(body)
        plain = {"content-type": "application/json", **headers}
        sync = app.client.post("/api/agent/chat", content=content, headers=plain)
        late = app.client.post("/api/agent/chat", content=content, headers=plain | ASYNC)
        return sync, late

    for body in (
        chat_body("", "v1"),
        chat_body("hola", ""),
        {**chat_body("hola", "v2"), "id_empresa": 0},
        {"message": "hola", "session_id": "v3", "config": {"nombre_bot": "x"}},
        chat_body("x" * 200, "v4"),
    ):
        sync, late = both(body, key)
        assert sync.status_code == late.status_code == 400
        assert sync.json() == late.json()
    sync, late = both(chat_body(BOOK, "v5"), {})
    assert sync.status_code == late.status_code == 401 and sync.json() == late.json()
    sync, late = both(chat_body(BOOK, "v6", notas="x" * 3000), key)
    assert sync.status_code == late.status_code == 413 and sync.json() == late.json()
    # the per-session limit counts asynchronous turns like any other
    v7 = chat_body(BOOK, "v7")
    assert app.client.post("/api/agent/chat", json=v7, headers=key | ASYNC).status_code == 202
    assert app.client.post("/api/agent/chat", json=v7, headers=key).status_code == 200
    limited = app.client.post("/api/agent/chat", json=v7, headers=key | ASYNC)
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert len(receiver.wait(1, timeout=60)) == 1
    time.sleep(1)
    assert len(receiver.deliveries) == 1  # the refused ones were never accepted


def test_asynchronous_messages_of_a_burst_are_merged_into_one_turn(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    # DOUBLE_TEXTING=merge holds for asynchronous turns too: two messages sent 300 ms apart are
    # one turn (one agent call), the earlier one delivered as `merged` into the later
    agent = chat_agent("reserva", fresh=True)
    app = start_app(
        {"reserva": agent.url},
        DOUBLE_TEXTING="merge",
        MERGE_WINDOW_SECONDS=1,
        **hook_settings(receiver),
    )
    first = post_async(app.client, "hola", "burst-async")
    time.sleep(0.3)
    second = post_async(app.client, BOOK, "burst-async")
    assert first.status_code == second.status_code == 202
    events = {d.json()["request_id"]: d.json() for d in receiver.wait(2, timeout=60)}
    merged = events[first.json()["request_id"]]
    answer = events[second.json()["request_id"]]
    assert merged["action"] == "merged" and merged["reply"] == ""
    assert merged["merged_into"] == second.json()["request_id"]
    assert answer["action"] == "delegate" and answer["agent_used"] == "reserva"
    assert answer["reply"] == f"[reserva] recibido: hola\n{BOOK} (turno 1)"
