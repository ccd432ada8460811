"""The playground in a real browser: a three-turn conversation with the reference agents."""

from __future__ import annotations

from collections.abc import Callable

from harness.orchestrator import StartApp
from tests.playground.conftest import PHONE, PlaygroundPage

OpenPlayground = Callable[..., PlaygroundPage]


def test_three_turns_typed_into_the_page(
    start_app: StartApp, reference: dict[str, str], open_playground: OpenPlayground
) -> None:
    app = start_app(agents=reference, LLM_MODE="offline")
    view = open_playground(app)
    page = view.page
    assert page.title() == "MaravIA · Playground"
    # the form starts with the project's demo bot, and a generated session id
    assert page.input_value("[data-field='nombre_bot']") == "Valeria"
    assert page.input_value("[data-field='id_empresa']") == "1"
    session = view.session_id()
    assert session.isdigit()
    assert "Sin conversación guardada" in view.text("#stored-summary")

    view.send("Hola!!")
    view.wait_replies(1)
    view.send("quiero reservar una mesa para 4 personas")
    view.wait_replies(2)
    view.send("y cuánto cuesta el café americano?")
    view.wait_replies(3)

    replies = view.bot_replies()
    assert [(r["action"], r["agent"]) for r in replies] == [
        ("respond", ""),
        ("delegate", "reserva"),
        ("delegate", "venta"),
    ]
    assert replies[0]["text"] == "¡Hola! Soy Valeria, ¿en qué te ayudo?"
    assert "orquestador" in replies[0]["meta"] and "→ reserva" in replies[1]["meta"]
    assert all(" s" in r["meta"] for r in replies)  # time taken
    assert "S/" in replies[2]["text"]
    # the page shows each reply whole: exactly what the checkpoint stored
    stored = app.client.get(f"/memory/sessions/{session}").json()
    stored_replies = [m["content"] for m in stored["messages"] if m["role"] == "assistant"]
    assert [r["text"] for r in replies] == stored_replies
    assert [m["agent"] for m in stored["messages"] if m["role"] == "assistant"] == [
        "orquestador",
        "reserva",
        "venta",
    ]

    # the side panel shows the stored turns
    page.wait_for_function("() => document.querySelectorAll('#stored-messages li').length === 6")
    assert view.text("#stored-summary").startswith("3 turnos guardados")
    assert "agente activo: venta" in view.text("#stored-summary")
    panel = page.eval_on_selector_all("#stored-messages li", "items => items.map(i => i.className)")
    assert panel == ["user", "assistant"] * 3
    assert "Bot (reserva)" in view.text("#stored-messages")

    shot = view.screenshot("three_turns.png")
    assert shot.stat().st_size > 10_000
    assert view.js_errors == []


def test_shift_enter_is_a_new_line_and_enter_sends(
    start_app: StartApp, reference: dict[str, str], open_playground: OpenPlayground
) -> None:
    app = start_app(agents=reference, LLM_MODE="offline")
    view = open_playground(app)
    page = view.page
    page.fill("#message", "Hola")
    page.press("#message", "Shift+Enter")
    page.keyboard.type("buenas tardes")
    assert page.input_value("#message") == "Hola\nbuenas tardes"
    assert page.locator(".msg").count() == 0  # nothing sent yet
    page.press("#message", "Enter")
    view.wait_replies(1)
    assert page.input_value("#message") == ""
    assert page.text_content(".msg.user .bubble") == "Hola\nbuenas tardes"
    assert view.js_errors == []


def test_clearing_the_session(
    start_app: StartApp, reference: dict[str, str], open_playground: OpenPlayground
) -> None:
    app = start_app(agents=reference, LLM_MODE="offline")
    view = open_playground(app)
    page = view.page
    view.send("quiero reservar una mesa para 2")
    view.wait_replies(1)
    session = view.session_id()
    page.wait_for_function("() => document.querySelectorAll('#stored-messages li').length === 2")
    assert app.client.get(f"/memory/sessions/{session}").status_code == 200

    page.click("#clear-session")
    page.wait_for_selector("#notice:not([hidden])")
    assert page.text_content("#notice") == f"Memoria limpiada para session_id: {session}"
    page.wait_for_function(
        "() => document.querySelector('#stored-summary').textContent.startsWith('Sin conversación')"
    )
    assert page.locator("#stored-messages li").count() == 0
    assert page.locator(".msg").count() == 0
    assert app.client.get(f"/memory/sessions/{session}").status_code == 404
    assert session not in app.client.get("/memory/stats").json()["sessions"]

    # a new conversation gets a new session id; the old one stays cleared
    page.click("#new-session")
    assert view.session_id() != session and view.session_id().isdigit()
    assert view.js_errors == []


def test_the_form_and_session_survive_a_reload(
    start_app: StartApp, reference: dict[str, str], open_playground: OpenPlayground
) -> None:
    app = start_app(agents=reference, LLM_MODE="offline")
    view = open_playground(app)
    page = view.page
    page.fill("[data-field='nombre_bot']", "Rosa")
    page.fill("[data-field='frase_saludo']", "¡Hola! Soy Rosa de la Pollería Lima.")
    page.fill("#extra", '{"slots": 3}')
    page.dispatch_event("#extra", "input")
    session = view.session_id()
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert page.input_value("[data-field='nombre_bot']") == "Rosa"
    assert view.session_id() == session
    assert '"slots": 3' in page.input_value("#extra")
    view.send("hola")
    view.wait_replies(1)
    assert view.bot_replies()[0]["text"] == "¡Hola! Soy Rosa de la Pollería Lima."

    # a broken JSON box is refused in the page, nothing is sent
    page.fill("#extra", "{roto")
    view.send("hola otra vez")
    page.wait_for_selector("#extra-error:not([hidden])")
    assert page.locator(".msg.user").count() == 1
    page.click("#reset-config")
    assert page.input_value("[data-field='nombre_bot']") == "Valeria"
    assert view.js_errors == []


def test_today_n8n_body_from_the_form(
    start_app: StartApp, reference: dict[str, str], open_playground: OpenPlayground
) -> None:
    """The second generation's body (top-level id_empresa and api_key) is what the page sends."""
    app = start_app(agents=reference, LLM_MODE="offline")
    view = open_playground(app)
    page = view.page
    page.select_option("#generation", "n8n")
    assert page.is_visible("#company-key") and not page.is_visible("[data-field='rol_bot']")
    page.fill("#company-key", "sk-empresa-de-prueba")
    with page.expect_request("**/api/agent/chat/stream") as request_info:
        view.send("hola")
    body = request_info.value.post_data_json
    assert body is not None
    assert body["id_empresa"] == 1 and body["api_key"] == "sk-empresa-de-prueba"
    assert isinstance(body["session_id"], int)
    assert "id_empresa" not in body["config"] and "rol_bot" not in body["config"]
    assert body["config"]["nombre_bot"] == "Valeria"
    view.wait_replies(1)  # answered, or refused with the service's own 400 text
    reply = view.bot_replies()[0]
    assert reply["action"] == "respond" or reply["error"]
    assert view.js_errors == []


def test_phone_sized_screen(
    start_app: StartApp, reference: dict[str, str], open_playground: OpenPlayground
) -> None:
    app = start_app(agents=reference, LLM_MODE="offline")
    view = open_playground(app, viewport=PHONE)
    page = view.page
    view.send("quiero reservar una mesa para 4 personas este sábado a las 8 de la noche")
    view.wait_replies(1)
    # nothing wider than the screen, the composer and the reply visible without zooming
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    for selector in ("#message", "#send", ".msg.bot .meta", "#session-id", "#new-session"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert view.bot_replies()[0]["agent"] == "reserva"
    view.screenshot("phone.png")
    assert view.js_errors == []
