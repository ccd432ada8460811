"""The console's human handoff in Chromium: take a conversation over, answer as a person, give it
back. Written against the handoff API of issue 25 item 1 (POST /sessions/{id}/handoff,
/messages, /resume; GET /sessions?mode=human; chat answers `action: "human"`); it runs once that
API is in the tree (HANDOFF_ENABLED among the settings) and is skipped before."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from harness.http_agent import HttpAgent
from harness.orchestrator import StartApp
from tests.playground.conftest import PlaygroundPage

OpenPlayground = Callable[..., PlaygroundPage]
BOOKING = "quiero reservar una mesa para 4 personas"


@pytest.fixture
def reserva() -> Iterator[HttpAgent]:
    agent = HttpAgent("reserva", "context").start()
    yield agent
    agent.stop()


def test_an_operator_takes_over_answers_and_gives_back(
    start_app: StartApp, reserva: HttpAgent, open_playground: OpenPlayground
) -> None:
    app = start_app(
        LLM_MODE="offline",
        HANDOFF_ENABLED="true",
        AGENT_RESERVA_URL=reserva.url,
        AGENT_RESERVA_BODY="context",
    )
    view = open_playground(app)
    page = view.page
    view.send("Hola!!")
    view.wait_replies(1)
    session = view.session_id()
    assert view.text("#mode-badge") == "bot"

    page.click("#take-over")
    page.wait_for_selector("#mode-badge[data-mode='human']")
    assert page.locator("#operator-form").is_visible()
    humans = app.client.get("/sessions", params={"mode": "human"}).json()["sessions"]
    assert session in [row["session_id"] for row in humans]

    # the customer writes: stored, answered by nobody (no agent call), shown as held
    view.send(BOOKING)
    view.wait_replies(2)
    held = view.bot_replies()[1]
    assert held["action"] == "human"
    assert "persona" in held["meta"]
    assert reserva.state.requests == 0

    # the operator answers as a person of the business
    page.fill("#operator-author", "Ana")
    page.fill("#operator-text", "Hola, soy Ana. ¿Para qué día quieres la mesa?")
    page.click("#operator-send")
    page.wait_for_selector(".msg.person")
    stored = app.client.get(f"/memory/sessions/{session}").json()
    assert "Hola, soy Ana. ¿Para qué día quieres la mesa?" in [
        m["content"] for m in stored["messages"]
    ]

    # a reload shows the mode and the person's message, from the storage
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector("#mode-badge[data-mode='human']")
    assert page.locator(".msg.person").count() == 1
    assert "Ana" in view.text(".msg.person")
    assert "Persona (Ana)" in view.text("#stored-messages li.person")

    # given back: the next customer message is routed again
    page.click("#give-back")
    page.wait_for_selector("#mode-badge[data-mode='bot']")
    humans = app.client.get("/sessions", params={"mode": "human"}).json()["sessions"]
    assert session not in [row["session_id"] for row in humans]
    view.send("para el sábado a las 8")
    page.wait_for_function(
        "() => document.querySelectorAll('.msg.bot .meta[data-action=\"delegate\"]').length >= 1"
    )
    assert reserva.state.requests >= 1
    view.screenshot("console_handoff.png")
    assert view.js_errors == []
