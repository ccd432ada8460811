"""POST /api/agent/chat/stream read by a real HTTP client as Server-Sent Events."""

from __future__ import annotations

import json

import httpx

from harness.agents import AgentFactory
from harness.orchestrator import RunningApp, StartApp, chat_body


def read_events(app: RunningApp, body: dict) -> list[tuple[str, dict]]:
    events, name = [], None
    with app.client.stream("POST", "/api/agent/chat/stream", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line.split(":", 1)[1])))
                name = None
    return events


def test_stream_of_a_delegated_turn(start_app: StartApp, chat_agent: AgentFactory) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline")
    events = read_events(app, chat_body("quiero reservar una mesa para 4", "st1"))
    names = [name for name, _ in events]
    assert names[0] == "routing" and names[1] == "delegating" and names[-1] == "done"
    assert events[1][1] == {"agent": "reserva"}
    tokens = [data["text"] for name, data in events if name == "token"]
    done = events[-1][1]
    assert tokens and "".join(tokens) == done["reply"]
    assert done == {
        "reply": "[reserva] recibido: quiero reservar una mesa para 4 (turno 1)",
        "session_id": "st1",
        "agent_used": "reserva",
        "action": "delegate",
        "url": None,
    }
    # the streamed turn is stored like any other
    assert app.client.get("/memory/stats").json()["sessions"]["st1"] == 1


def test_stream_of_a_respond_turn(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    events = read_events(app, chat_body("hola", "st2"))
    assert [n for n, _ in events if n != "token"] == ["routing", "done"]
    assert events[-1][1]["action"] == "respond" and events[-1][1]["agent_used"] is None


def test_stream_validates_before_starting(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    r = app.client.post("/api/agent/chat/stream", json=chat_body("  ", "st3"))
    assert r.status_code == 400
    assert r.json() == {"detail": "El campo 'message' no puede estar vacío"}
    r = app.client.post("/api/agent/chat/stream", json=chat_body("hola", "st3", id_empresa=0))
    assert r.status_code == 400


def test_client_leaving_mid_stream_leaves_no_lock_and_no_half_turn(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva", delay=1.0)
    app = start_app(
        agents={"reserva": agent.url}, LLM_MODE="offline", SESSION_LOCK_TIMEOUT=5, TURN_TIMEOUT=4
    )
    with (
        httpx.Client(base_url=app.url, timeout=30) as client,
        client.stream(
            "POST", "/api/agent/chat/stream", json=chat_body("quiero reservar una mesa", "st4")
        ) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("event: delegating"):
                break  # leave while the agent is working
    # no lock left behind: a held one would make this a 409 after SESSION_LOCK_TIMEOUT
    follow = app.chat("y para mañana a las 5", "st4")
    assert follow.status_code == 200, follow.text
    # the abandoned turn was completed and stored whole, before the next one
    stats = app.client.get("/memory/stats").json()["sessions"]
    assert stats["st4"] == 2
    assert [c["message"] for c in agent.chat_calls()] == [
        "quiero reservar una mesa",
        "y para mañana a las 5",
    ]
