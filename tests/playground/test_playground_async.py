"""The playground sends a turn asynchronously (`Prefer: respond-async`) and shows its delivery
to a real webhook receiver, in headless Chromium."""

from __future__ import annotations

from collections.abc import Callable

from harness.orchestrator import StartApp
from harness.webhook_receiver import WebhookReceiver
from tests.playground.conftest import PlaygroundPage

OpenPlayground = Callable[..., PlaygroundPage]


def test_an_async_turn_and_its_delivery_shown_in_the_page(
    start_app: StartApp, reference: dict[str, str], open_playground: OpenPlayground
) -> None:
    with WebhookReceiver() as receiver:
        receiver.answer(503)  # one failed attempt first: the page shows the retry's result
        app = start_app(
            agents=reference,
            LLM_MODE="offline",
            REPLY_WEBHOOK_URL=receiver.url,
            WEBHOOK_SECRET="secreto-playground",
            WEBHOOK_RETRY_BASE_SECONDS=0.2,
        )
        view = open_playground(app)
        page = view.page
        page.check("#async-mode")
        view.send("quiero reservar una mesa para 4 personas")
        view.wait_replies(1, timeout=60_000)
        (reply,) = view.bot_replies()
        assert not reply["error"]
        assert reply["action"] == "delegate" and reply["agent"] == "reserva"
        (delivered,) = receiver.wait(1, timeout=30)
        assert reply["text"] == delivered.json()["reply"]
        line = page.locator(".msg.bot .delivery")
        assert line.get_attribute("data-state") == "delivered"
        text = line.text_content() or ""
        assert "entregado" in text and "2 intentos" in text and "HTTP 200" in text
        assert delivered.headers["x-orquestador-delivery"] in text
        view.screenshot("async-delivery.png")

        # a failed delivery is shown as such, with the receiver's status
        receiver.answer(default=400)
        view.send("y para el domingo?")
        page.wait_for_selector(".msg.bot .delivery[data-state='failed']", timeout=60_000)
        failed_line = page.locator(".msg.bot .delivery").nth(1).text_content() or ""
        assert "entrega fallida" in failed_line and "HTTP 400" in failed_line
        assert view.js_errors == []

        # without the toggle the page streams as before
        page.uncheck("#async-mode")
        receiver.answer(default=200)
        view.send("gracias")
        view.wait_replies(3, timeout=60_000)
        assert page.locator(".msg.bot").nth(2).locator(".delivery").count() == 0
