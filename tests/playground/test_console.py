"""The operator console in Chromium: conversations reopened from the storage after a reload, the
list and its search, each turn's routing and outcome, a failed HTTP agent shown as failed, export,
the phone layout, and the defects fixed (line breaks, Enter during a turn, the n8n field, the key
panel in view)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.http_agent import HttpAgent
from harness.orchestrator import RunningApp, StartApp, chat_body
from tests.playground.conftest import PHONE, PlaygroundPage

OpenPlayground = Callable[..., PlaygroundPage]
BOOKING = "quiero reservar una mesa para 4 personas"
COMPANY = chat_body("hola")["config"]["id_empresa"]  # the harness's company
FALLBACK = "Déjame consultarlo con el equipo y te confirmo en breve."  # the demo's frase_no_sabe


@pytest.fixture(scope="module")
def reserva_module() -> Iterator[HttpAgent]:
    """A real HTTP agent (agente_reserva's shape) on a loopback port."""
    agent = HttpAgent("reserva", "context").start()
    yield agent
    agent.stop()


@pytest.fixture
def reserva(reserva_module: HttpAgent) -> HttpAgent:
    reserva_module.state.reset()
    return reserva_module


@pytest.fixture
def app(start_app: StartApp, reserva: HttpAgent) -> RunningApp:
    """Offline routing, one HTTP agent (reserva), one attempt per agent call."""
    return start_app(
        LLM_MODE="offline",
        MCP_MAX_RETRIES=1,
        AGENT_RESERVA_URL=reserva.url,
        AGENT_RESERVA_BODY="context",
    )


def details(view: PlaygroundPage) -> list[dict[str, str]]:
    """Each bot message's turn details box: its outcome, intent, router and text."""
    return view.page.eval_on_selector_all(
        ".msg.bot",
        """items => items.map(item => {
            const box = item.querySelector('.turn-detail');
            return box ? {outcome: box.dataset.outcome, intent: box.dataset.intent,
                          router: box.dataset.router, text: box.innerText} : null;
        })""",
    )


def test_a_conversation_is_reopened_from_the_storage_after_a_reload(
    app: RunningApp, open_playground: OpenPlayground
) -> None:
    view = open_playground(app)
    page = view.page
    view.send("Hola!!")
    view.wait_replies(1)
    page.fill("#message", "quiero reservar una mesa")
    page.press("#message", "Shift+Enter")
    page.keyboard.type("para 4 personas")
    page.press("#message", "Enter")
    view.wait_replies(2)
    before = view.bot_replies()
    assert [(r["action"], r["agent"]) for r in before] == [("respond", ""), ("delegate", "reserva")]
    live = details(view)
    assert [d["outcome"] for d in live] == ["none", "delegated"]
    assert live[0]["intent"] == "greeting" and live[1]["router"] == "offline"
    assert "Agentes permitidos: reserva" in live[1]["text"]
    assert "Llamada al agente reserva: delegado" in live[1]["text"]
    # the memory panel keeps the customer's line break
    page.wait_for_function("() => document.querySelectorAll('#stored-messages li').length === 4")
    texts = page.eval_on_selector_all("#stored-messages li .text", "ns => ns.map(n => n.innerText)")
    assert texts[2] == "quiero reservar una mesa\npara 4 personas"

    session = view.session_id()
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    view.wait_replies(2)
    assert view.session_id() == session
    after = view.bot_replies()
    assert [(r["text"], r["action"], r["agent"]) for r in after] == [
        (r["text"], r["action"], r["agent"]) for r in before
    ]
    users = page.eval_on_selector_all(".msg.user .bubble", "ns => ns.map(n => n.innerText)")
    assert users == ["Hola!!", "quiero reservar una mesa\npara 4 personas"]
    assert [d["outcome"] for d in details(view)] == ["none", "delegated"]
    assert view.js_errors == []


def test_the_list_shows_stored_conversations_searches_and_opens_one(
    app: RunningApp, open_playground: OpenPlayground
) -> None:
    assert app.client.post("/api/agent/chat", json=chat_body("hola", "cliente-555")).is_success
    assert app.client.post("/api/agent/chat", json=chat_body(BOOKING, "cliente-555")).is_success
    assert app.client.post("/api/agent/chat", json=chat_body("hola", "otro-777")).is_success
    listed = app.client.get("/sessions").json()
    assert listed["total"] == 2
    row = next(r for r in listed["sessions"] if r["session_id"] == "cliente-555")
    assert (row["id_empresa"], row["turns"], row["active_agent"], row["mode"]) == (
        COMPANY,
        2,
        "reserva",
        "bot",
    )
    assert row["last_outcome"] == "delegated" and row["last_reply_by"] == "reserva"
    assert app.client.get("/sessions", params={"q": "555"}).json()["total"] == 1

    view = open_playground(app)
    page = view.page
    page.wait_for_function("() => document.querySelectorAll('#conv-list .conv').length === 2")
    page.fill("#conv-search", "555")
    page.wait_for_function("() => document.querySelectorAll('#conv-list .conv').length === 1")
    assert f"empresa {COMPANY} · 2 turnos · reserva" in view.text("#conv-list")
    page.click("#conv-list .conv[data-session='cliente-555']")
    view.wait_replies(2)
    assert view.session_id() == "cliente-555"
    assert view.page.input_value("[data-field='id_empresa']") == str(COMPANY)  # its company
    assert [r["agent"] for r in view.bot_replies()] == ["", "reserva"]
    assert page.locator(".msg.user").count() == 2
    assert view.js_errors == []


def test_a_failed_agent_is_shown_as_failed_not_as_the_orchestrator_answering(
    app: RunningApp, reserva: HttpAgent, open_playground: OpenPlayground
) -> None:
    reserva.state.statuses.extend([500] * 5)
    view = open_playground(app)
    page = view.page
    page.wait_for_selector("#agent-badges .badge[data-agent='reserva']")
    view.send(BOOKING)
    view.wait_replies(1)
    assert reserva.state.requests >= 1, "the agent was really called"
    [reply] = view.bot_replies()
    assert reply["text"] == FALLBACK
    meta = page.locator(".msg.bot .meta")
    assert "failed" in (meta.get_attribute("class") or "")
    assert "reserva ✗ falló (http_500)" in reply["meta"]
    assert "orquestador" not in reply["meta"]
    assert " · id " in reply["meta"]  # the request id of the failed turn
    [detail] = details(view)
    assert detail["outcome"] == "failed"
    assert "decisión: delegar → reserva" in detail["text"]
    assert "se respondió la frase de respaldo" in detail["text"]
    # the list marks the conversation's last turn as failed; a reload shows it failed again
    page.click("#refresh-conversations")
    page.wait_for_function("() => document.querySelector('#conv-list').innerText.includes('✗')")
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    view.wait_replies(1)
    assert details(view)[0]["outcome"] == "failed"
    assert "✗ falló (http_500)" in view.bot_replies()[0]["meta"]
    view.screenshot("console_failed_agent.png")
    assert view.js_errors == []


def test_export_downloads_the_conversation_with_its_turn_details(
    app: RunningApp, open_playground: OpenPlayground, tmp_path: Path
) -> None:
    view = open_playground(app)
    page = view.page
    view.send(BOOKING)
    view.wait_replies(1)
    with page.expect_download() as download_info:
        page.click("#export")
    path = tmp_path / "export.json"
    download_info.value.save_as(path)
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert exported["session_id"] == view.session_id()
    messages = exported["conversation"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    turn = messages[1]["details"]
    assert turn["agent_call"]["outcome"] == "delegated" and turn["allowed"] == ["reserva"]
    assert set(turn["timings_ms"]) == {"routing", "context", "agent"}


def test_enter_does_not_send_while_a_turn_is_in_flight(
    app: RunningApp, reserva: HttpAgent, open_playground: OpenPlayground
) -> None:
    reserva.state.delay = 1.5
    view = open_playground(app)
    page = view.page
    view.send(BOOKING)
    page.wait_for_selector("body.busy")
    page.fill("#message", "¿y para 6?")
    page.press("#message", "Enter")
    assert page.locator(".msg.user").count() == 1  # not sent during the turn
    assert page.input_value("#message") == "¿y para 6?"  # and not lost
    # no empty bubble while the turn is routed: the status line says what is going on
    assert page.locator(".msg.bot .bubble").first.is_visible() is False
    view.wait_replies(1)
    page.press("#message", "Enter")
    view.wait_replies(2)
    assert page.locator(".msg.user").count() == 2


def test_the_n8n_format_names_its_own_company_field(
    app: RunningApp, open_playground: OpenPlayground
) -> None:
    view = open_playground(app)
    page = view.page
    page.select_option("#generation", "n8n")
    page.fill("[data-field='id_empresa']", "")
    view.send("hola")
    page.wait_for_selector("#notice:not([hidden])")
    text = view.text("#notice")
    assert "«id_empresa» (arriba, fuera de config)" in text and "config.id_empresa" not in text
    assert page.locator(".msg").count() == 0  # nothing sent


def test_the_phone_layout_and_the_key_panel_in_view(
    app: RunningApp, open_playground: OpenPlayground
) -> None:
    view = open_playground(app, viewport=PHONE)
    page = view.page
    view.send("Hola!!")
    view.wait_replies(1)
    view.send(BOOKING)
    view.wait_replies(2)
    page.click("#refresh-conversations")
    page.wait_for_selector("#conv-list .conv")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing runs off the side
    order = page.evaluate(
        """() => ['.chat', '.conversations', '.side'].map(
            s => document.querySelector(s).getBoundingClientRect().top)"""
    )
    assert order == sorted(order)  # the chat first, then the list, then the settings
    shot = view.screenshot("console_phone.png")
    assert shot.stat().st_size > 10_000
    # the key panel opens in view however far down the page is scrolled
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.click("#key-button")
    box = page.locator("#key-form").bounding_box()
    assert box is not None and 0 <= box["y"] < PHONE["height"]
    assert view.js_errors == []


def test_desktop_screenshot_for_the_readme(
    app: RunningApp, reserva: HttpAgent, open_playground: OpenPlayground
) -> None:
    """The console with a delegated turn and a failed one (docs/console.png is made from it)."""
    view = open_playground(app)
    view.send("Hola!!")
    view.wait_replies(1)
    view.send(BOOKING)
    view.wait_replies(2)
    reserva.state.statuses.extend([500] * 5)
    view.send("para el sábado a las 8")
    view.wait_replies(3)
    view.page.click("#refresh-conversations")
    view.page.wait_for_selector("#conv-list .conv")
    shot = view.screenshot("console_desktop.png")
    assert shot.stat().st_size > 10_000
    view.page.evaluate("() => window.scrollTo(0, 0)")
    view.page.screenshot(path=str(shot.with_name("console_desktop_view.png")))  # docs/console.png
    assert [d["outcome"] for d in details(view)] == ["none", "delegated", "failed"]


def test_a_refused_turn_shows_its_request_id(
    start_app: StartApp, open_playground: OpenPlayground
) -> None:
    app = start_app(LLM_MODE="offline", API_KEYS="chat-key-console-1")
    view = open_playground(app)
    page = view.page
    page.click("#key-cancel")
    with page.expect_response("**/api/agent/chat/stream") as response_info:
        view.send("hola")
    view.wait_replies(1)
    request_id = response_info.value.headers.get("x-request-id")
    assert response_info.value.status == 401 and request_id
    assert view.bot_replies()[0]["error"]
    assert view.text(".msg.bot.error .request-id") == f"id {request_id}"
