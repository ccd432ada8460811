"""The playground with API keys on: asks once, explains a 401, works after the right key."""

from __future__ import annotations

from collections.abc import Callable

from harness.orchestrator import StartApp
from tests.playground.conftest import PlaygroundPage

OpenPlayground = Callable[..., PlaygroundPage]
CHAT_KEY, ADMIN_KEY = "chat-key-playground-1", "admin-key-playground-1"


def save_key(view: PlaygroundPage, key: str) -> None:
    page = view.page
    if not page.is_visible("#key-panel"):
        page.click("#key-button")
    page.fill("#api-key", key)
    page.click("#key-form button[type='submit']")
    page.wait_for_selector("#key-panel", state="hidden")


def test_keys_prompt_401_message_then_success(
    start_app: StartApp, reference: dict[str, str], open_playground: OpenPlayground
) -> None:
    app = start_app(
        agents=reference, LLM_MODE="offline", API_KEYS=CHAT_KEY, ADMIN_API_KEYS=ADMIN_KEY
    )
    assert app.client.get("/playground").status_code == 200  # the page itself needs no key
    view = open_playground(app)
    page = view.page
    # asked once, at start
    assert page.is_visible("#key-panel")
    assert "claves de API activadas" in view.text("#key-reason")
    page.click("#key-cancel")

    # no key: a clear 401 message, never a broken page
    view.send("hola")
    view.wait_replies(1)
    first = view.bot_replies()[0]
    assert first["error"] and "pide una clave de API (401)" in first["text"]
    assert page.is_visible("#key-panel")

    # a wrong key
    save_key(view, "not-a-key")
    view.send("hola")
    view.wait_replies(2)
    assert "no es válida (401)" in view.bot_replies()[1]["text"]

    # a chat key: the turn works; the memory panel says it needs an admin key
    save_key(view, CHAT_KEY)
    view.send("hola")
    view.wait_replies(3)
    third = view.bot_replies()[2]
    assert not third["error"] and third["text"] == "¡Hola! Soy Valeria, ¿en qué te ayudo?"
    page.wait_for_function(
        "() => document.querySelector('#stored-summary').textContent.includes('403')"
    )
    assert "ADMIN_API_KEYS" in view.text("#stored-summary")

    # an admin key: the stored conversation shows, and the key stays for this tab
    save_key(view, ADMIN_KEY)
    page.click("#refresh-stored")
    page.wait_for_function(
        "() => document.querySelector('#stored-summary').textContent.startsWith('1 turno')"
    )
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert not page.is_visible("#key-panel")
    view.wait_replies(1)  # the reload reopened the stored conversation (its one turn)
    assert view.bot_replies()[0]["text"] == "¡Hola! Soy Valeria, ¿en qué te ayudo?"
    view.send("quiero reservar una mesa para 2")
    view.wait_replies(2)
    assert view.bot_replies()[1]["agent"] == "reserva"
    assert view.js_errors == []
