"""GET /sessions (admin): stored conversations in brief, filtered by session id part, company and
mode, latest activity first; the admin key is required; each reply's turn details in /memory."""

from __future__ import annotations

from harness.orchestrator import StartApp, chat_body

CHAT, ADMIN = "chat-key-sessions-1", "admin-key-sessions-1"


def test_the_list_filters_orders_and_needs_the_admin_key(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline", API_KEYS=CHAT, ADMIN_API_KEYS=ADMIN)
    chat = {"X-API-Key": CHAT}
    admin = {"X-API-Key": ADMIN}
    for session, company in (("alfa-1", 7), ("beta-2", 8), ("alfa-3", 7)):
        body = chat_body("hola", session, id_empresa=company)
        assert app.client.post("/api/agent/chat", json=body, headers=chat).status_code == 200

    assert app.client.get("/sessions").status_code == 401
    assert app.client.get("/sessions", headers=chat).status_code == 403
    listed = app.client.get("/sessions", headers=admin).json()
    assert listed["total"] == 3
    assert [row["session_id"] for row in listed["sessions"]] == ["alfa-3", "beta-2", "alfa-1"]
    row = listed["sessions"][0]
    assert row == {
        "session_id": "alfa-3",
        "id_empresa": 7,
        "turns": 1,
        "total_turns": 1,
        "active_agent": None,
        "mode": "bot",
        "last_activity": row["last_activity"],
        "last_customer_message": "hola",
        "last_reply_by": "orquestador",
        "last_outcome": None,
    }

    def sessions(**params: str | int) -> list[str]:
        response = app.client.get("/sessions", headers=admin, params=params)
        assert response.status_code == 200, response.text
        return [row["session_id"] for row in response.json()["sessions"]]

    assert sessions(q="ALFA") == ["alfa-3", "alfa-1"]
    assert sessions(id_empresa=8) == ["beta-2"]
    assert sessions(mode="bot") == sessions() and len(sessions()) == 3  # nobody held by a person
    off = app.client.get("/sessions", headers=admin, params={"mode": "human"})
    assert off.status_code == 404  # no person can hold a conversation: HANDOFF_ENABLED is off
    assert sessions(limit=1) == ["alfa-3"]
    assert app.client.get("/sessions", headers=admin, params={"limit": 0}).status_code == 400
