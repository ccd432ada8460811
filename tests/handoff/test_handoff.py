"""Human handoff through real processes: the real ChatOpenAI client against the OpenAI stub, a
real HTTP agent on loopback, a real webhook receiver, SQLite files and PostgreSQL."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub, route_json
from harness.orchestrator import BASE_CONFIG, RunningApp, StartApp, chat_body, model_settings
from harness.webhook_receiver import Delivery, WebhookReceiver
from server.webhooks.signing import verify

SECRET = "secreto-de-handoff"
HUMAN = {"mode": "human"}  # GET /sessions?mode=human: the conversations a person holds
ADMIN = {"X-API-Key": "clave-admin"}
CHAT_KEY = {"X-API-Key": "clave-chat"}
PHONE = 51987654321
ESCALATE = "quiero hablar con una persona, por favor"
PERSON_TEXT = "Hola, soy Ana de ventas: el modelo X cuesta 50 soles y te lo separo hasta el lunes"


def handoff_settings(receiver: WebhookReceiver, **extra: Any) -> dict[str, Any]:
    return {
        "HANDOFF_ENABLED": True,
        "REPLY_WEBHOOK_URL": receiver.url,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_RETRY_BASE_SECONDS": 0.2,
        "ADMIN_API_KEYS": "clave-admin",
        **extra,
    }


def chat(
    app: RunningApp,
    message: str,
    session: Any = PHONE,
    company: int = 12,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = app.client.post(
        "/api/agent/chat",
        headers=headers,
        json={
            "message": message,
            "session_id": session,
            "id_empresa": company,
            "config": dict(BASE_CONFIG),
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def events(receiver: WebhookReceiver, n: int) -> list[dict[str, Any]]:
    delivered: list[Delivery] = receiver.wait(n, timeout=30)
    for delivery in delivered:
        assert verify(SECRET, delivery.body, delivery.headers.get("x-orquestador-signature"))
    return [delivery.json() for delivery in delivered]


@pytest.fixture
def receiver() -> Any:
    with WebhookReceiver() as hook:
        yield hook


def test_escalation_hands_over_the_person_writes_and_the_bot_resumes_with_it_in_view(
    start_app: StartApp, openai_stub: OpenAIStub, receiver: WebhookReceiver
) -> None:
    with HttpAgent("venta") as agent:
        app = start_app(
            AGENT_VENTA_URL=agent.url,
            AGENT_VENTA_PROTOCOL="http",
            **model_settings(openai_stub),
            **handoff_settings(receiver),
        )
        frase_esc = BASE_CONFIG["frase_esc"]
        openai_stub.enqueue(route_json("respond", reply=frase_esc, intent="escalation"))
        escalated = chat(app, ESCALATE)
        assert escalated == {
            "reply": frase_esc,
            "session_id": PHONE,
            "agent_used": None,
            "action": "respond",
            "url": None,
            "handoff": True,
        }
        models, agent_calls = openai_stub.request_count, agent.state.requests
        customer = ["¿siguen ahí?", "quiero el modelo X", "¿cuánto cuesta?"]
        for text in customer:
            assert chat(app, text) == {
                "reply": "",
                "session_id": PHONE,
                "agent_used": None,
                "action": "human",
                "url": None,
                "handoff": True,
            }
        # no router, agent or model call while a person holds the conversation
        assert openai_stub.request_count == models
        assert agent.state.requests == agent_calls

        # the same phone at another company is not held by anyone
        openai_stub.enqueue(
            route_json("respond", reply="¡Hola! ¿En qué te ayudo?", intent="greeting")
        )
        other = chat(app, "hola", company=13)
        assert other["action"] == "respond" and other["handoff"] is False
        assert openai_stub.request_count == models + 1

        waiting = app.client.get("/sessions", params=HUMAN, headers=ADMIN).json()
        assert waiting["total"] == 1
        (row,) = waiting["sessions"]
        assert row["id_empresa"] == 12 and row["session_id"] == PHONE
        assert row["reason"] == "escalation" and row["state"] == "waiting"
        assert row["last_customer_message"] == customer[-1]
        assert row["answered_last"] == "bot" and row["since"].endswith("Z")

        wrote = app.client.post(
            f"/sessions/{PHONE}/messages",
            params={"id_empresa": 12},
            json={"text": PERSON_TEXT, "author": "Ana"},
            headers=ADMIN,
        )
        assert wrote.status_code == 200, wrote.text
        held = app.client.get("/sessions?mode=human", headers=ADMIN).json()["sessions"][0]
        assert held["state"] == "held" and held["answered_last"] == "Ana"

        stored = app.client.get(f"/memory/sessions/{PHONE}?id_empresa=12", headers=ADMIN).json()[
            "messages"
        ]
        # company 13's turn shares this thread until conversations are keyed by company too
        held_part = [
            (m["role"], m["content"], m["agent"])
            for m in stored
            if m["content"] in customer or m["agent"] == "humano:Ana"
        ]
        assert held_part == [
            *(("user", text, None) for text in customer),
            ("assistant", PERSON_TEXT, "humano:Ana"),
        ]

        resumed = app.client.post(f"/sessions/{PHONE}/resume?id_empresa=12", headers=ADMIN)
        assert resumed.json()["ended"] is True
        assert app.client.get("/sessions", params=HUMAN, headers=ADMIN).json()["total"] == 0

        openai_stub.enqueue(route_json("delegate", "venta"))
        back = chat(app, "perfecto, sepáramelo")
        assert back["action"] == "delegate" and back["agent_used"] == "venta"
        assert back["handoff"] is False
        prompt = openai_stub.messages_text()
        assert f"Asesor humano: {PERSON_TEXT}" in prompt
        assert all(f"Cliente: {text}" in prompt for text in customer)
        assert agent.state.requests == agent_calls + 1

    started, ended = events(receiver, 2)
    assert started["event"] == "handoff_started" and started["reason"] == "escalation"
    assert started["session_id"] == PHONE and started["id_empresa"] == 12
    assert ended["event"] == "handoff_ended" and ended["reason"] == "resume"
    assert ended["time"].endswith("Z") and ended["seconds"] >= 0

    metrics = app.client.get("/metrics", headers=ADMIN).json()
    assert metrics["handoff"]["started"]["escalation"] == 1
    assert metrics["handoff"]["ended"]["resume"] == 1
    assert metrics["handoff"]["conversations_human"] == 0
    text = app.client.get("/metrics/prometheus", headers=ADMIN).text
    assert 'orquestador_handoffs_total{reason="escalation"} 1.0' in text
    assert "orquestador_conversations_human 0.0" in text
    assert "orquestador_human_mode_seconds_count 1.0" in text


def test_an_operator_takes_over_and_a_silent_person_times_out(
    start_app: StartApp, receiver: WebhookReceiver
) -> None:
    app = start_app(LLM_MODE="offline", **handoff_settings(receiver, HANDOFF_TIMEOUT_SECONDS=1.5))
    taken = app.client.post("/sessions/s-op/handoff?id_empresa=12", headers=ADMIN)
    assert taken.status_code == 200 and taken.json()["started"] is True
    again = app.client.post("/sessions/s-op/handoff?id_empresa=12", headers=ADMIN)
    assert again.json()["started"] is False  # already held: no second event
    assert app.client.get("/metrics", headers=ADMIN).json()["handoff"]["conversations_human"] == 1
    assert chat(app, "hola", "s-op")["action"] == "human"
    # the stream and an asynchronous turn answer a held conversation the same way
    with app.client.stream(
        "POST", "/api/agent/chat/stream", json=chat_body("¿me escuchan?", "s-op")
    ) as streamed:
        lines = [line for line in streamed.iter_lines() if line.startswith("data:")]
    done = json.loads(lines[-1].removeprefix("data:"))
    assert (done["action"], done["reply"], done["handoff"]) == ("human", "", True)
    accepted = app.client.post(
        "/api/agent/chat",
        json=chat_body("¿hay alguien?", "s-op"),
        headers={"Prefer": "respond-async"},
    )
    assert accepted.status_code == 202
    started, reply = events(receiver, 2)
    assert (started["event"], started["reason"]) == ("handoff_started", "operator")
    assert started["session_id"] == "s-op"
    assert (reply["event"], reply["action"], reply["reply"]) == ("reply", "human", "")
    held = app.client.get("/sessions", params=HUMAN, headers=ADMIN).json()["sessions"][0]
    assert held["last_customer_message"] == "¿hay alguien?"
    time.sleep(2.0)  # the person never wrote: past HANDOFF_TIMEOUT_SECONDS
    routed = chat(app, "hola", "s-op")
    assert routed["action"] == "respond" and routed["handoff"] is False
    assert routed["reply"]  # the bot answers again
    ended = events(receiver, 3)[-1]
    assert (ended["event"], ended["reason"]) == ("handoff_ended", "timeout")
    # a message for a conversation no person holds is refused, not stored
    refused = app.client.post(
        "/sessions/s-op/messages?id_empresa=12", json={"text": "hola"}, headers=ADMIN
    )
    assert refused.status_code == 409 and "modo humano" in refused.json()["detail"]


def test_the_sweep_gives_back_a_handoff_no_customer_message_revisits(
    start_app: StartApp, receiver: WebhookReceiver
) -> None:
    app = start_app(
        LLM_MODE="offline",
        **handoff_settings(receiver, HANDOFF_TIMEOUT_SECONDS=1, SESSION_SWEEP_INTERVAL=0.3),
    )
    offline = chat(app, "quiero hablar con un asesor humano, tengo un reclamo", "s-sweep")
    assert offline["handoff"] is True  # the offline router escalates too
    started, ended = events(receiver, 2)  # no further message: the sweep ends it
    assert started["reason"] == "escalation" and ended["reason"] == "timeout"
    assert app.client.get("/sessions", params=HUMAN, headers=ADMIN).json()["total"] == 0


def test_admin_key_required_and_bad_input_is_a_spanish_400(
    start_app: StartApp, receiver: WebhookReceiver
) -> None:
    app = start_app(LLM_MODE="offline", API_KEYS="clave-chat", **handoff_settings(receiver))
    for method, path in (
        ("GET", "/sessions?mode=human"),
        ("POST", "/sessions/s1/handoff?id_empresa=12"),
        ("POST", "/sessions/s1/messages?id_empresa=12"),
        ("POST", "/sessions/s1/resume?id_empresa=12"),
    ):
        assert app.client.request(method, path).status_code == 401, path
        assert app.client.request(method, path, headers=CHAT_KEY).status_code == 403, path
    no_company = app.client.post("/sessions/s1/handoff", headers=ADMIN)
    assert no_company.status_code == 400 and "id_empresa" in no_company.json()["detail"]
    bad = app.client.post("/sessions/s1/handoff?id_empresa=0", headers=ADMIN)
    assert bad.status_code == 400
    assert app.client.post("/sessions/s1/handoff?id_empresa=12", headers=ADMIN).status_code == 200
    empty = app.client.post(
        "/sessions/s1/messages?id_empresa=12", json={"text": "  "}, headers=ADMIN
    )
    assert empty.status_code == 400 and "'text'" in empty.json()["detail"]
    fine = app.client.post(
        "/sessions/s1/messages?id_empresa=12", json={"text": "te atiendo yo"}, headers=ADMIN
    )
    assert fine.json()["author"] == "asesor"
    assert app.client.get("/sessions?mode=robot", headers=ADMIN).status_code == 400
    # an operator's path carries text; the customer's next message gives the id's JSON type
    assert app.client.post(f"/sessions/{PHONE}/handoff?id_empresa=12", headers=ADMIN).json()[
        "session_id"
    ] == str(PHONE)
    assert chat(app, "hola", PHONE, headers=CHAT_KEY)["action"] == "human"
    listed = app.client.get("/sessions", params=HUMAN, headers=ADMIN).json()["sessions"]
    assert PHONE in [row["session_id"] for row in listed]
    app.client.post(f"/sessions/{PHONE}/resume?id_empresa=12", headers=ADMIN)
    by_kind = {(e["event"], e["session_id"]) for e in events(receiver, 3)}
    assert by_kind == {
        ("handoff_started", "s1"),
        ("handoff_started", str(PHONE)),
        ("handoff_ended", PHONE),
    }


def test_off_by_default_nothing_changes(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    escalated = chat(app, "quiero hablar con un asesor humano, tengo un reclamo", "s-off")
    assert set(escalated) == {"reply", "session_id", "agent_used", "action", "url"}
    assert escalated["reply"] == BASE_CONFIG["frase_esc"]
    again = chat(app, "hola", "s-off")
    assert again["action"] == "respond" and again["reply"]
    assert app.client.get("/sessions?mode=human").status_code == 404
    assert app.client.post("/sessions/s-off/handoff?id_empresa=12").status_code == 404


def test_human_mode_holds_across_instances_on_postgresql(
    start_app: StartApp, pg_url: str, receiver: WebhookReceiver
) -> None:
    settings = {"LLM_MODE": "offline", "DATABASE_URL": pg_url, **handoff_settings(receiver)}
    first, second = start_app(**settings), start_app(**settings)
    assert chat(first, "necesito hablar con una persona, tengo un reclamo", PHONE)["handoff"]
    assert chat(second, "¿hola?", PHONE)["action"] == "human"
    assert chat(second, "hola", PHONE, company=13)["action"] == "respond"
    wrote = second.client.post(
        f"/sessions/{PHONE}/messages?id_empresa=12", json={"text": "ya te atiendo"}, headers=ADMIN
    )
    assert wrote.status_code == 200
    listed = first.client.get("/sessions", params=HUMAN, headers=ADMIN).json()["sessions"]
    assert [(r["id_empresa"], r["answered_last"]) for r in listed] == [(12, "asesor")]
    assert first.client.post(f"/sessions/{PHONE}/resume?id_empresa=12", headers=ADMIN).json()[
        "ended"
    ]
    assert chat(second, "gracias", PHONE)["action"] == "respond"
    kinds = [(e["event"], e["reason"]) for e in events(receiver, 2)]
    assert kinds == [("handoff_started", "escalation"), ("handoff_ended", "resume")]
