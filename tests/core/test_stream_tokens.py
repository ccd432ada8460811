"""`token` events: sensible pieces for a finished reply, the model's own stream in tools mode."""

from __future__ import annotations

import json
import threading

from harness.agents import AgentFactory
from harness.openai_stub import OpenAIStub, route_json, text, tool_calls
from harness.orchestrator import RunningApp, StartApp, chat_body, model_settings

LONG_WORDS = ["reserva", "mesa", "para", "cuatro", "personas", "sábado", "noche", "ventana"]


def read_events(app: RunningApp, body: dict) -> list[tuple[str, dict]]:
    events, name = [], None
    with app.client.stream("POST", "/api/agent/chat/stream", json=body) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line.split(":", 1)[1])))
                name = None
    return events


def test_a_reply_of_several_kb_arrives_in_few_events_cut_at_words(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        MAX_MESSAGE_CHARS=20000,
        MAX_REPLY_CHARS=20000,
    )
    message = "quiero reservar " + " ".join(LONG_WORDS[i % 8] for i in range(1500))
    events = read_events(app, chat_body(message, "long-1"))
    done = events[-1][1]
    assert events[-1][0] == "done" and done["agent_used"] == "reserva"
    reply = done["reply"]
    assert len(reply) > 8000
    tokens = [data["text"] for name, data in events if name == "token"]
    assert "".join(tokens) == reply  # exact, whitespace included
    assert len(tokens) <= len(reply) // 40 + 1  # not one event per word (1,500+ words)
    assert all(len(piece) <= 80 for piece in tokens)
    # every piece but the last ends at a word boundary, and is not tiny
    assert all(piece[-1].isspace() for piece in tokens[:-1])
    assert all(len(piece) >= 40 for piece in tokens[:-1])


def test_health_answers_while_a_long_reply_streams(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        MAX_MESSAGE_CHARS=20000,
        MAX_REPLY_CHARS=20000,
    )
    message = "quiero reservar " + " ".join(LONG_WORDS[i % 8] for i in range(2500))
    health: list[int] = []
    first_token, polled, done = threading.Event(), threading.Event(), threading.Event()

    def poll_health() -> None:
        first_token.wait(30)
        while True:
            health.append(app.client.get("/health").status_code)
            polled.set()
            if done.is_set():
                break

    poller = threading.Thread(target=poll_health)
    poller.start()
    events, name = [], None
    with app.client.stream(
        "POST", "/api/agent/chat/stream", json=chat_body(message, "long-2")
    ) as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append(name)
                if name == "token" and not first_token.is_set():
                    first_token.set()
                    # a fast turn may stream everything before the poller runs: the stream
                    # stays open (its end unread) until /health has answered at least once
                    assert polled.wait(10), "no /health answer while the stream was open"
    done.set()
    poller.join(30)
    assert events[-1] == "done"
    assert health and set(health) == {200}


def test_tools_mode_streams_the_models_answer_token_by_token(
    start_app: StartApp, openai_stub: OpenAIStub, tool_agent: AgentFactory
) -> None:
    agent = tool_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url}, MCP_RESERVA_MODE="tools", **model_settings(openai_stub)
    )
    answer = (
        "Tenemos dos servicios: corte de cabello por 25 soles y manicure por 35 soles. "
        "¿Cuál te gustaría reservar y para qué día?"
    )
    openai_stub.enqueue(
        route_json("delegate", "reserva"),
        tool_calls([("listar_servicios", {})], content=""),
        text(answer, chunk_delay=0.03),
    )
    events = read_events(app, chat_body("¿qué servicios tienen para reservar?", "live-1"))
    names = [name for name, _ in events]
    assert names[:2] == ["routing", "delegating"] and names[-1] == "done"
    tokens = [data["text"] for name, data in events if name == "token"]
    assert "".join(tokens) == answer == events[-1][1]["reply"]
    # the model's own chunks (one per word, 30 ms apart), not 40-80 character pieces afterwards
    assert len(tokens) >= len(answer.split()) // 2 > len(answer) // 40 + 1
    # the router's structured output and the tool call never became tokens
    assert not any("action" in token or "listar_servicios" in token for token in tokens)
    requests = openai_stub.requests
    assert len(requests) == 3 and requests[2].get("stream") is True


def test_plain_chat_in_tools_mode_still_answers_whole(
    start_app: StartApp, openai_stub: OpenAIStub, tool_agent: AgentFactory
) -> None:
    agent = tool_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url}, MCP_RESERVA_MODE="tools", **model_settings(openai_stub)
    )
    openai_stub.enqueue(
        route_json("delegate", "reserva"),
        text("Tenemos corte de cabello y manicure."),
    )
    r = app.chat("¿qué servicios tienen para reservar?", "live-2")
    assert r.status_code == 200, r.text
    assert r.json()["reply"] == "Tenemos corte de cabello y manicure."
