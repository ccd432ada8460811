"""One canonical session id: what chat stores, clear deletes (ids with `/`, ids with spaces)."""

from __future__ import annotations

from harness.orchestrator import StartApp, chat_body


def test_ids_with_slash_and_spaces_are_cleared(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    assert app.chat("hola", "a/b").status_code == 200
    assert app.chat("hola", " 555 ").status_code == 200
    assert app.chat("hola", 777).status_code == 200
    sessions = app.client.get("/memory/stats").json()["sessions"]
    assert sessions == {"a/b": 1, "555": 1, "777": 1}
    r = app.client.post("/memory/clear/a/b")
    assert r.status_code == 200
    assert r.json() == {"message": "Memoria limpiada para session_id: a/b"}
    r = app.client.post("/memory/clear/%20555%20")
    assert r.json() == {"message": "Memoria limpiada para session_id: 555"}
    assert app.client.post("/memory/clear/a%2Fb").status_code == 200  # encoded, now a no-op
    assert app.client.get("/memory/stats").json()["sessions"] == {"777": 1}
    # a cleared session starts fresh
    assert app.chat("hola", "a/b").status_code == 200
    assert app.client.get("/memory/stats").json()["sessions"]["a/b"] == 1


def test_clear_refuses_blank_and_unstorable_ids(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    r = app.client.post("/memory/clear/%20%20")
    assert r.status_code == 400
    assert r.json() == {"detail": "El campo 'session_id' no puede estar vacío"}
    r = app.client.post("/memory/clear/a%00b")
    assert r.status_code == 400
    assert r.json() == {"detail": "El campo 'session_id' contiene caracteres no válidos"}
    assert app.client.post("/api/agent/chat", json=chat_body("hola", "a\x00b")).status_code == 400
