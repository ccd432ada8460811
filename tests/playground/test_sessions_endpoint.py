"""GET /memory/sessions/{session_id}: the stored conversation, 404, admin keys, no secrets."""

from __future__ import annotations

import time

import httpx
import pytest

from harness.agents import AgentFactory
from harness.orchestrator import StartApp, chat_body

SECRETISH = "sk-do-not-show-0123456789"


def test_shape_after_turns_on_both_backends(
    start_app: StartApp, chat_agent: AgentFactory, storage: dict
) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline", **storage)
    assert app.chat("Hola!!", "ses-1").status_code == 200
    assert app.chat("quiero reservar una mesa para 4", "ses-1").status_code == 200
    r = app.client.get("/memory/sessions/ses-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "session_id",
        "id_empresa",
        "active_agent",
        "turns",
        "total_turns",
        "updated_at",
        "messages",
    }
    assert body["session_id"] == "ses-1" and body["id_empresa"] == 12
    assert body["active_agent"] == "reserva"
    assert body["turns"] == body["total_turns"] == 2
    assert body["updated_at"][:4].isdigit() and "T" in body["updated_at"]
    turns = [m.pop("details") for m in body["messages"]]
    assert turns[0] is None and turns[2] is None  # the customer's messages have none
    assert (turns[1]["intent"], turns[1]["agent_call"]) == ("greeting", None)
    assert turns[3]["agent_call"]["outcome"] == "delegated" and turns[3]["reply_by"] == "reserva"
    assert body["messages"] == [
        {"role": "user", "content": "Hola!!", "agent": None},
        {
            "role": "assistant",
            "content": "¡Hola! Soy Valeria, ¿en qué te ayudo?",
            "agent": "orquestador",
        },
        {"role": "user", "content": "quiero reservar una mesa para 4", "agent": None},
        {
            "role": "assistant",
            "content": "[reserva] recibido: quiero reservar una mesa para 4 (turno 1)",
            "agent": "reserva",
        },
    ]
    # the same count /memory/stats gives
    assert app.client.get("/memory/stats").json()["sessions"]["ses-1"] == body["turns"]


def test_bounded_history_counts_stored_and_total_turns(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline", MAX_HISTORY_TURNS=2)
    for i in range(4):
        assert app.chat(f"quiero reservar una mesa número {i}", "ses-2").status_code == 200
    body = app.client.get("/memory/sessions/ses-2").json()
    assert body["turns"] == 2 and body["total_turns"] == 4
    assert [m["content"] for m in body["messages"] if m["role"] == "user"] == [
        "quiero reservar una mesa número 2",
        "quiero reservar una mesa número 3",
    ]


def test_unknown_cleared_and_odd_ids(start_app: StartApp, chat_agent: AgentFactory) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline")
    r = app.client.get("/memory/sessions/nadie")
    assert r.status_code == 404
    assert r.json() == {"detail": "No hay conversación guardada para esta sesión"}
    # an id with a slash and one sent as an integer are found as chat stored them
    assert app.client.post("/api/agent/chat", json=chat_body("hola", "web/abc")).status_code == 200
    assert app.client.get("/memory/sessions/web/abc").json()["session_id"] == "web/abc"
    assert app.client.get("/memory/sessions/web%2Fabc").status_code == 200
    assert (
        app.client.post("/api/agent/chat", json=chat_body("hola", 51987654321)).status_code == 200
    )
    assert app.client.get("/memory/sessions/51987654321").json()["turns"] == 1
    # cleared: gone
    assert app.client.post("/memory/clear/51987654321").status_code == 200
    assert app.client.get("/memory/sessions/51987654321").status_code == 404


def test_expired_session_is_not_shown(start_app: StartApp, chat_agent: AgentFactory) -> None:
    agent = chat_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        SESSION_TTL_SECONDS=1,
        SESSION_SWEEP_INTERVAL=3600,
    )
    assert app.chat("hola", "ses-ttl").status_code == 200
    assert app.client.get("/memory/sessions/ses-ttl").status_code == 200
    time.sleep(1.5)
    assert app.client.get("/memory/sessions/ses-ttl").status_code == 404


@pytest.mark.parametrize(
    ("header", "status"),
    [({}, 401), ({"X-API-Key": "wrong"}, 401), ({"X-API-Key": "chat-k"}, 403)],
)
def test_admin_key_is_required_when_keys_are_on(
    start_app: StartApp, chat_agent: AgentFactory, header: dict, status: int
) -> None:
    agent = chat_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url}, LLM_MODE="offline", API_KEYS="chat-k", ADMIN_API_KEYS="adm-k"
    )
    r = app.client.post(
        "/api/agent/chat", json=chat_body("hola", "ses-k"), headers={"X-API-Key": "chat-k"}
    )
    assert r.status_code == 200
    r = app.client.get("/memory/sessions/ses-k", headers=header)
    assert r.status_code == status and r.json()["detail"]
    ok = app.client.get("/memory/sessions/ses-k", headers={"Authorization": "Bearer adm-k"})
    assert ok.status_code == 200 and ok.json()["turns"] == 1


def test_no_secret_and_no_client_config_in_it(
    start_app: StartApp, chat_agent: AgentFactory, context_server
) -> None:
    agent = chat_agent("reserva")
    context_server.set_context(
        12, "Pollería El Dorado: abierto de 12 a 23 h, delivery en Miraflores."
    )
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        CONTEXTO_NEGOCIO_ENDPOINT=context_server.url,
        API_KEYS="chat-k",
        ADMIN_API_KEYS="adm-k",
    )
    body = chat_body("quiero reservar una mesa", "ses-s", token_interno=SECRETISH)
    body["config"]["personalidad"] = "muy-particular-persona"
    r = app.client.post("/api/agent/chat", json=body, headers={"X-API-Key": "chat-k"})
    assert r.status_code == 200
    text = httpx.get(
        f"{app.url}/memory/sessions/ses-s", headers={"X-API-Key": "adm-k"}, trust_env=False
    ).text
    for leaked in (SECRETISH, "muy-particular-persona", "chat-k", "adm-k", "Pollería", "Valeria"):
        assert leaked not in text
    assert "bot_config" not in text and "business_context" not in text and "decision" not in text
