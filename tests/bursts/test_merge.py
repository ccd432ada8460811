"""DOUBLE_TEXTING=merge through the running app: a burst answered by one turn (one router call,
one agent call), earlier messages answered `merged`, memory in order, later messages their own
turn, the maximum wait, one turn for the session rate limit, /chat/stream's `done`."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from typing import Any

from harness import openai_specs as specs
from harness.agents import AgentFactory
from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, chat_body, model_settings
from tests.bursts.conftest import Burst, wait_until

MERGED_KEYS = {"reply", "session_id", "agent_used", "action", "url", "merged_into"}


def session() -> int:
    return int(uuid.uuid4().int % 10**9)


def merged_body(sent_session: Any, into: str) -> dict[str, Any]:
    return {
        "reply": "",
        "session_id": sent_session,
        "agent_used": None,
        "action": "merged",
        "url": None,
        "merged_into": into,
    }


def stored(app: Any, session_id: Any) -> list[tuple[str, str]]:
    body = app.client.get(f"/memory/sessions/{session_id}").json()
    return [(m["role"], m["content"]) for m in body["messages"]]


def test_three_messages_300ms_apart_are_one_turn(
    start_app: StartApp, routed: dict[str, Any], venta: HttpAgent, openai_stub: OpenAIStub
) -> None:
    app = start_app(DOUBLE_TEXTING="merge", **routed)
    burst = Burst(session())
    for text in ("hola", "quería comprar zapatillas", "talla 42, por favor"):
        burst.send(app.url, text)
        time.sleep(0.3)
    first, second, third = burst.wait()
    assert [s.response.status_code for s in burst.sent] == [200, 200, 200]  # type: ignore[union-attr]
    # the earlier two are answered `merged` (into the message that joined them), before the reply
    assert first.response.json() == merged_body(burst.session, second.request_id)  # type: ignore[union-attr]
    assert second.response.json() == merged_body(burst.session, third.request_id)  # type: ignore[union-attr]
    assert set(first.response.json()) == MERGED_KEYS  # type: ignore[union-attr]
    reply = third.response.json()  # type: ignore[union-attr]
    assert set(reply) == {"reply", "session_id", "agent_used", "action", "url"}
    assert reply["action"] == "delegate" and reply["agent_used"] == "venta"
    assert first.done_at is not None and third.done_at is not None and first.done_at < third.done_at
    # one router decision, one agent call holding the three in order, one line each
    assert openai_stub.request_count == 1
    assert len(venta.calls) == 1
    assert venta.last_body()["message"] == "hola\nquería comprar zapatillas\ntalla 42, por favor"
    assert "hola\nquería comprar zapatillas\ntalla 42, por favor" in openai_stub.messages_text()
    assert stored(app, burst.session) == [
        ("user", "hola"),
        ("user", "quería comprar zapatillas"),
        ("user", "talla 42, por favor"),
        ("assistant", reply["reply"]),
    ]
    figures = app.metrics()
    bursts = figures["bursts"]
    assert bursts["messages_merged"] == 2 and bursts["bursts"] == 1
    assert bursts["burst_messages"] == 3
    assert figures["requests_total"] == 1 and figures["requests_delegate"] == 1  # turns only
    prometheus = app.client.get("/metrics/prometheus").text
    assert 'orquestador_burst_size_messages_bucket{le="2.0"} 0.0' in prometheus
    assert 'orquestador_burst_size_messages_bucket{le="3.0"} 1.0' in prometheus
    assert "orquestador_messages_merged_total 2.0" in prometheus
    memory = app.client.get(f"/memory/sessions/{burst.session}").json()
    assert memory["turns"] == 1 and memory["total_turns"] == 1


def test_messages_after_the_agent_call_started_are_the_next_turn(
    start_app: StartApp, routed: dict[str, Any], venta: HttpAgent, openai_stub: OpenAIStub
) -> None:
    app = start_app(DOUBLE_TEXTING="merge", MERGE_WINDOW_SECONDS=0.5, **routed)
    venta.state.delay = 1.5
    burst = Burst(session())
    first = burst.send(app.url, "quiero comprar un regalo")
    wait_until(lambda: len(venta.calls) == 1)
    second = burst.send(app.url, "es para mi mamá")
    time.sleep(0.3)
    third = burst.send(app.url, "algo de 100 soles")
    burst.wait()
    assert first.response.json()["action"] == "delegate"  # type: ignore[union-attr]
    # the two later messages never joined the turn in flight: they are the next burst, answered
    # after it (the earlier of them merged as soon as the later one came)
    assert second.response.json() == merged_body(burst.session, third.request_id)  # type: ignore[union-attr]
    assert third.response.json()["action"] == "delegate"  # type: ignore[union-attr]
    assert first.done_at is not None and third.done_at is not None
    assert first.done_at < third.done_at
    assert [call["body"]["message"] for call in venta.calls] == [
        "quiero comprar un regalo",
        "es para mi mamá\nalgo de 100 soles",
    ]
    assert openai_stub.request_count == 2
    assert [content for _, content in stored(app, burst.session)] == [
        "quiero comprar un regalo",
        first.response.json()["reply"],  # type: ignore[union-attr]
        "es para mi mamá",
        "algo de 100 soles",
        third.response.json()["reply"],  # type: ignore[union-attr]
    ]


def test_the_joined_text_is_bounded_and_the_cut_counted(
    start_app: StartApp, routed: dict[str, Any], venta: HttpAgent
) -> None:
    app = start_app(DOUBLE_TEXTING="merge", MERGE_WINDOW_SECONDS=0.6, MERGE_MAX_CHARS=100, **routed)
    burst = Burst(session())
    texts = ["quiero comprar " + "a" * 45, "b" * 60, "c" * 60]
    for text in texts:
        burst.send(app.url, text)
        time.sleep(0.2)
    burst.wait()
    sent = venta.last_body()["message"]
    assert sent == "\n".join(texts)[:100]
    assert sent.startswith(texts[0] + "\n")  # the oldest line whole
    assert app.metrics()["bursts"]["burst_text_cuts"] == 1
    assert [c for role, c in stored(app, burst.session) if role == "user"] == texts  # stored whole


def test_a_steady_stream_is_answered_by_the_maximum(
    start_app: StartApp, routed: dict[str, Any], venta: HttpAgent
) -> None:
    app = start_app(DOUBLE_TEXTING="merge", MERGE_WINDOW_SECONDS=2, MERGE_MAX_SECONDS=5, **routed)
    burst = Burst(session())
    texts = [f"mensaje {n}" for n in range(9)]
    calls_before_last = 0
    for n, text in enumerate(texts):
        if n == len(texts) - 1:
            calls_before_last = len(venta.calls)
        burst.send(app.url, text)
        time.sleep(1.0)
    burst.wait()
    # the window never closed (a message every second), yet a turn started by the maximum
    assert calls_before_last >= 1
    joined = [call["body"]["message"].split("\n") for call in venta.calls]
    assert len(joined) >= 2 and 2 <= len(joined[0]) < len(texts)
    assert [line for lines in joined for line in lines] == texts  # each once, in order
    answered = [s for s in burst.sent if s.response.json()["action"] != "merged"]  # type: ignore[union-attr]
    assert len(answered) == len(joined)
    user_lines = [c for role, c in stored(app, burst.session) if role == "user"]
    assert user_lines == texts


def test_a_burst_counts_once_for_the_session_rate_limit(
    start_app: StartApp, routed: dict[str, Any], venta: HttpAgent
) -> None:
    app = start_app(
        DOUBLE_TEXTING="merge",
        MERGE_WINDOW_SECONDS=0.6,
        SESSION_RATE_LIMIT_PER_MINUTE=1,
        **routed,
    )
    burst = Burst(session())
    for text in ("hola", "quiero comprar", "unas zapatillas"):
        burst.send(app.url, text)
        time.sleep(0.2)
    assert [s.response.status_code for s in burst.wait()] == [200, 200, 200]  # type: ignore[union-attr]
    assert len(venta.calls) == 1
    late = app.client.post("/api/agent/chat", json=chat_body("otra cosa", burst.session))
    assert late.status_code == 429
    assert stored(app, burst.session)[-2:][0] == ("user", "unas zapatillas")


def test_stream_ends_a_merged_message_with_done(
    start_app: StartApp, routed: dict[str, Any], venta: HttpAgent
) -> None:
    app = start_app(DOUBLE_TEXTING="merge", MERGE_WINDOW_SECONDS=1, **routed)
    burst = Burst(session())
    first = burst.send(app.url, "hola", path="/api/agent/chat/stream")
    time.sleep(0.3)
    second = burst.send(app.url, "quiero comprar", path="/api/agent/chat/stream")
    burst.wait()
    events = _events(first.response.text)  # type: ignore[union-attr]
    assert events[-1] == ("done", merged_body(burst.session, second.request_id))
    last = _events(second.response.text)  # type: ignore[union-attr]
    assert last[-1][0] == "done" and last[-1][1]["action"] == "delegate"
    assert "merged_into" not in last[-1][1]
    assert len(venta.calls) == 1


def _events(text: str) -> list[tuple[str, Any]]:
    events, name = [], "message"
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line.split(":", 1)[1].strip())))
    return events


def test_merge_mode_leaves_no_rows_behind(
    start_app: StartApp, routed: dict[str, Any], venta: HttpAgent
) -> None:
    app = start_app(DOUBLE_TEXTING="merge", MERGE_WINDOW_SECONDS=0.3, **routed)
    assert app.chat("hola, quiero comprar", session()).status_code == 200
    with sqlite3.connect(app.settings.CHECKPOINT_DB) as conn:
        assert conn.execute("SELECT count(*) FROM burst_messages").fetchone() == (0,)


def test_a_tool_loop_agent_gets_the_burst_as_one_message(
    start_app: StartApp, openai_stub: OpenAIStub, tool_agent: AgentFactory
) -> None:
    agent = tool_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url},
        MCP_RESERVA_MODE="tools",
        DOUBLE_TEXTING="merge",
        MERGE_WINDOW_SECONDS=0.6,
        **model_settings(openai_stub),
    )
    openai_stub.enqueue(specs.route_json("delegate", "reserva"), specs.text("¿Para qué hora?"))
    burst = Burst(session())
    for message in ("quiero reservar", "para el sábado"):
        burst.send(app.url, message)
        time.sleep(0.2)
    first, second = burst.wait()
    assert first.response.json()["action"] == "merged"  # type: ignore[union-attr]
    assert second.response.json()["reply"] == "¿Para qué hora?"  # type: ignore[union-attr]
    assert openai_stub.request_count == 2  # one router decision, one tool-loop model call
    model_user_lines = [
        m["content"] for m in openai_stub.request(1)["messages"] if m["role"] == "user"
    ]
    assert model_user_lines[-1] == "quiero reservar\npara el sábado"
