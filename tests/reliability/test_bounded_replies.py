"""MAX_REPLY_CHARS: a 5 MB agent reply is cut at a word, counted, kept small, sent in few events."""

from __future__ import annotations

import json

from harness.agents import AgentFactory
from harness.orchestrator import BASE_CONFIG, StartApp, chat_body
from server.conversations.keys import conversation_key

HUGE = "repeat:700000:palabra "  # 700,000 × 8 chars = 5.6 MB


def test_huge_agent_reply_is_cut_counted_and_stored_small(
    start_app: StartApp, echo_agent: AgentFactory
) -> None:
    agent = echo_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        AGENT_TIMEOUT=30,
        MAX_AGENT_RESPONSE_BYTES=64 * 1024 * 1024,  # read it whole: this test is about the cut
    )
    assert app.chat("quiero reservar una mesa", "big").status_code == 200
    r = app.chat(HUGE, "big")
    assert r.status_code == 200, r.text
    reply = r.json()["reply"]
    assert r.json()["agent_used"] == "reserva"
    assert len(reply) <= 4096 and len(reply) > 4000
    assert reply.endswith("palabra…")  # cut at a word boundary, with an ellipsis
    assert app.metrics()["replies_truncated"] == 1
    prometheus = app.client.get("/metrics/prometheus").text
    assert "orquestador_replies_truncated_total 1.0" in prometheus
    key = conversation_key(BASE_CONFIG["id_empresa"], "big", "company")
    size, rows = app.call(app.services.backend.ops.thread_bytes(key))
    assert rows == 1 and size < 64 * 1024, size  # not 3 × 5 MB
    # streamed: the bounded reply, in a bounded number of events
    events, name = [], None
    body = chat_body(HUGE, "big")
    with app.client.stream("POST", "/api/agent/chat/stream", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line.split(":", 1)[1])))
    tokens = "".join(data["text"] for kind, data in events if kind == "token")
    assert events[-1][0] == "done" and tokens == events[-1][1]["reply"]
    assert len(tokens) <= 4096 and len(events) < 1000
    assert app.metrics()["replies_truncated"] == 2


def test_limit_is_configurable_and_short_replies_are_untouched(
    start_app: StartApp, echo_agent: AgentFactory
) -> None:
    agent = echo_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline", MAX_REPLY_CHARS=40)
    app.chat("quiero reservar una mesa", "lim")
    r = app.chat("una respuesta corta", "lim")
    assert r.json()["reply"] == "una respuesta corta"
    r = app.chat("uno dos tres cuatro cinco seis siete ocho nueve diez once doce", "lim")
    assert r.json()["reply"] == "uno dos tres cuatro cinco seis siete…"
    assert app.metrics()["replies_truncated"] == 1
