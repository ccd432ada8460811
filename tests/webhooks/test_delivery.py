"""Delivery from the outbox to a real receiver: retries with one delivery_id, 4xx kept as failed
and sent again on request, per-conversation order, error events, metrics."""

from __future__ import annotations

import time

from harness.agents import AgentFactory
from harness.orchestrator import StartApp
from harness.webhook_receiver import WebhookReceiver
from server.errors import BUSY

from .conftest import BOOK, hook_settings, post_async, signed


def test_a_receiver_failing_twice_with_503_gets_the_reply_on_the_third_attempt(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva")
    app = start_app({"reserva": agent.url}, **hook_settings(receiver))
    receiver.answer(503, 503)
    assert post_async(app.client, BOOK, "retry-1").status_code == 202
    attempts = receiver.wait(3, timeout=60, where=lambda d: True)
    assert [d.status for d in attempts] == [503, 503, 200]
    assert len({d.headers["x-orquestador-delivery"] for d in attempts}) == 1
    assert len({d.body for d in attempts}) == 1  # the same bytes, the same signature
    assert all(signed(d) for d in attempts)
    # backoff: the second wait is about twice the first (base 0.2 s)
    assert attempts[2].at - attempts[1].at > attempts[1].at - attempts[0].at
    time.sleep(1)
    assert len(receiver.deliveries) == 3
    metrics = _wait_metrics(app, lambda m: m["webhooks"]["deliveries"]["delivered"] == 1)
    assert metrics["webhooks"]["attempts"] == {"http_5xx": 2, "ok": 1}
    assert metrics["webhooks"]["async_turns_accepted"] == 1
    text = app.client.get("/metrics/prometheus").text
    assert 'orquestador_webhook_deliveries_total{result="delivered"} 1.0' in text
    assert 'orquestador_webhook_attempts_total{outcome="http_5xx"} 2.0' in text
    assert "orquestador_webhook_backlog " in text
    assert "orquestador_webhook_oldest_age_seconds " in text


def test_a_400_is_not_retried_is_listed_as_failed_and_is_sent_again_on_request(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva")
    app = start_app({"reserva": agent.url}, **hook_settings(receiver))
    assert app.client.get("/webhooks/failed").json() == {"total": 0, "failed": []}
    receiver.answer(400)
    accepted = post_async(app.client, BOOK, 555).json()
    (first,) = receiver.wait(1, timeout=60, where=lambda d: d.status == 400)
    delivery_id = first.headers["x-orquestador-delivery"]
    failed = _wait_failed(app, 1)
    assert failed["total"] == 1
    (row,) = failed["failed"]
    assert row["delivery_id"] == delivery_id
    assert row["request_id"] == accepted["request_id"]
    assert row["session_id"] == 555 and row["id_empresa"] == 12
    assert row["attempts"] == 1 and row["last_status"] == 400 and row["event"] == "reply"
    time.sleep(1)
    assert len(receiver.deliveries) == 1  # not retried
    assert app.client.post("/webhooks/failed/nope/retry").status_code == 404
    resent = app.client.post(f"/webhooks/failed/{delivery_id}/retry")
    assert resent.status_code == 200 and resent.json()["status"] == "pending"
    (again,) = receiver.wait(1, timeout=60)
    assert again.headers["x-orquestador-delivery"] == delivery_id and again.body == first.body
    assert app.client.get("/webhooks/failed").json()["total"] == 0
    assert app.client.post(f"/webhooks/failed/{delivery_id}/retry").status_code == 404
    status = app.client.get("/webhooks/deliveries", params={"request_id": accepted["request_id"]})
    (row,) = status.json()["deliveries"]
    assert row["state"] == "delivered" and row["body"]["reply"] == again.json()["reply"]
    metrics = _wait_metrics(app, lambda m: m["webhooks"]["deliveries"]["delivered"] == 1)
    assert metrics["webhooks"]["deliveries"]["failed"] == 1


def test_attempts_are_bounded_by_webhook_max_attempts(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva")
    app = start_app({"reserva": agent.url}, **hook_settings(receiver, WEBHOOK_MAX_ATTEMPTS=3))
    receiver.answer(default=500)
    post_async(app.client, BOOK, "bounded")
    failed = _wait_failed(app, 1)
    assert failed["failed"][0]["attempts"] == 3 and failed["failed"][0]["last_status"] == 500
    assert len(receiver.deliveries) == 3


def test_five_async_messages_of_one_conversation_arrive_in_order(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    agent = chat_agent("reserva")
    app = start_app({"reserva": agent.url}, **hook_settings(receiver))
    receiver.answer(503)  # the first reply needs a retry: the later ones must wait for it
    messages = [f"quiero reservar una mesa, mensaje {i}" for i in range(1, 6)]
    ids = [post_async(app.client, m, "orden").json()["request_id"] for m in messages]
    got = receiver.wait(5, timeout=60)
    events = [d.json() for d in got]
    assert [e["request_id"] for e in events] == ids
    assert [e["reply"] for e in events] == [
        f"[reserva] recibido: {m} (turno {i})" for i, m in enumerate(messages, 1)
    ]
    assert [d.status for d in receiver.deliveries][0] == 503


def test_a_busy_conversation_is_delivered_as_an_error_event(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver, tmp_path
) -> None:
    """Two instances on one database: the second's async turn waits past SESSION_LOCK_TIMEOUT
    for the first's slow one; its 409 is delivered as `event: "error"`."""
    agent = chat_agent("reserva", fresh=True, delay=5)
    common = hook_settings(receiver, CHECKPOINT_DB=str(tmp_path / "shared.sqlite"))
    first = start_app({"reserva": agent.url}, **common)
    second = start_app({"reserva": agent.url}, **common, TURN_TIMEOUT=1, SESSION_LOCK_TIMEOUT=2)
    slow = post_async(first.client, BOOK, "ocupada").json()
    time.sleep(0.5)
    busy = post_async(second.client, "hola otra vez", "ocupada").json()
    # the 409 answered first (after SESSION_LOCK_TIMEOUT), so it is delivered first
    error, reply = (d.json() for d in receiver.wait(2, timeout=60))
    assert reply["event"] == "reply" and reply["request_id"] == slow["request_id"]
    assert error["event"] == "error" and error["request_id"] == busy["request_id"]
    assert error["status"] == 409 and error["detail"] == BUSY
    assert error["message"] == "hola otra vez" and error["session_id"] == "ocupada"
    assert error["id_empresa"] == 12 and error["delivery_id"]


def _wait_failed(app, count: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = app.client.get("/webhooks/failed").json()
        if body["total"] >= count or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def _wait_metrics(app, ready, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        metrics = app.metrics()
        if ready(metrics) or time.monotonic() > deadline:
            return metrics
        time.sleep(0.1)


def test_a_receiver_that_answers_again_ends_the_backoff_of_waiting_replies(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    """Two replies wait a 60 s backoff for a receiver that was down; once a new reply is
    delivered to it, they are sent at once instead of at the end of their backoff."""
    agent = chat_agent("reserva")
    app = start_app(
        {"reserva": agent.url}, **hook_settings(receiver, WEBHOOK_RETRY_BASE_SECONDS=60)
    )
    receiver.stop()
    waiting = [post_async(app.client, BOOK, f"espera-{i}").json() for i in range(2)]
    for item in waiting:
        deadline = time.monotonic() + 30
        while True:
            rows = app.client.get(
                "/webhooks/deliveries", params={"request_id": item["request_id"]}
            ).json()["deliveries"]
            if rows and rows[0]["attempts"] == 1 and rows[0]["state"] == "ready":
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
    receiver.start()
    fresh = post_async(app.client, BOOK, "nueva").json()
    got = receiver.wait(3, timeout=30)  # well before the 60 s backoff ends
    ids = [d.json()["request_id"] for d in got]
    assert ids[0] == fresh["request_id"]
    assert sorted(ids[1:]) == sorted(item["request_id"] for item in waiting)


def test_a_turn_longer_than_the_lease_keeps_its_row_while_it_runs(
    start_app: StartApp, chat_agent: AgentFactory, receiver: WebhookReceiver
) -> None:
    """The accepting process renews its rows' leases: a 4 s turn with a 1 s lease is answered
    with its reply, not taken for a dead process's turn."""
    agent = chat_agent("reserva", fresh=True, delay=4)
    app = start_app({"reserva": agent.url}, **hook_settings(receiver, WEBHOOK_LEASE_SECONDS=1))
    accepted = post_async(app.client, BOOK, "larga").json()
    (delivery,) = receiver.wait(1, timeout=60)
    event = delivery.json()
    assert event["event"] == "reply" and event["request_id"] == accepted["request_id"]
    assert event["reply"] == f"[reserva] recibido: {BOOK} (turno 1)"
