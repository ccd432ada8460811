"""DOUBLE_TEXTING=reject (409 while the conversation's turn is in flight, nothing stored) and
enqueue (today's behaviour: every message its own turn, no buffer table)."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, chat_body
from tests.bursts.conftest import Burst, wait_until

IN_FLIGHT = "Hay un mensaje en curso para esta conversación"


def test_reject_refuses_a_message_while_the_turn_is_in_flight(
    start_app: StartApp, routed: dict[str, Any], venta: HttpAgent
) -> None:
    app = start_app(DOUBLE_TEXTING="reject", **routed)
    session = uuid.uuid4().int % 10**9
    venta.state.delay = 1.0
    burst = Burst(session)
    first = burst.send(app.url, "quiero comprar un regalo")
    wait_until(lambda: len(venta.calls) == 1)
    refused = app.client.post("/api/agent/chat", json=chat_body("es para mi mamá", session))
    assert refused.status_code == 409
    assert refused.json() == {"detail": IN_FLIGHT}
    burst.wait()
    assert first.response.status_code == 200  # type: ignore[union-attr]
    body = app.client.get(f"/memory/sessions/{session}").json()
    assert [m["content"] for m in body["messages"] if m["role"] == "user"] == [
        "quiero comprar un regalo"
    ]
    assert len(venta.calls) == 1
    assert app.metrics()["bursts"]["messages_rejected"] == 1
    prometheus = app.client.get("/metrics/prometheus").text
    assert "orquestador_messages_rejected_total 1.0" in prometheus
    venta.state.delay = 0
    # once the turn is over, the next message is answered
    again = app.client.post("/api/agent/chat", json=chat_body("es para mi mamá", session))
    assert again.status_code == 200 and again.json()["action"] == "delegate"


def test_enqueue_answers_every_message_in_order_without_the_buffer(
    start_app: StartApp, routed: dict[str, Any], venta: HttpAgent, openai_stub: OpenAIStub
) -> None:
    app = start_app(**routed)  # DOUBLE_TEXTING defaults to enqueue
    assert app.settings.DOUBLE_TEXTING == "enqueue"
    assert app.services.bursts is None
    venta.state.delay = 0.3
    session = uuid.uuid4().int % 10**9
    burst = Burst(session)
    texts = ["hola", "quiero comprar", "zapatillas"]
    for count, text in enumerate(texts, start=1):  # each sent while the turn before is in flight
        burst.send(app.url, text)
        wait_until(lambda count=count: len(venta.calls) >= count)
    answers = burst.wait()
    assert all(s.response.json()["action"] == "delegate" for s in answers)  # type: ignore[union-attr]
    assert all("merged_into" not in s.response.json() for s in answers)  # type: ignore[union-attr]
    assert [call["body"]["message"] for call in venta.calls] == texts
    assert openai_stub.request_count == 3
    body = app.client.get(f"/memory/sessions/{session}").json()
    assert [m["content"] for m in body["messages"] if m["role"] == "user"] == texts
    assert body["turns"] == 3
    with sqlite3.connect(app.settings.CHECKPOINT_DB) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "burst_messages" not in tables
    assert app.metrics()["bursts"] == {
        "messages_merged": 0,
        "bursts": 0,
        "burst_messages": 0,
        "burst_text_cuts": 0,
        "messages_rejected": 0,
    }
