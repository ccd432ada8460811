"""The playground shows and clears the conversation of the form's company (one phone, two)."""

from __future__ import annotations

from collections.abc import Callable

from harness.orchestrator import StartApp, chat_body
from tests.playground.conftest import PlaygroundPage

OpenPlayground = Callable[..., PlaygroundPage]


def test_the_stored_panel_and_clear_follow_the_forms_company(
    start_app: StartApp, reference: dict[str, str], open_playground: OpenPlayground
) -> None:
    app = start_app(agents=reference, LLM_MODE="offline")
    view = open_playground(app)
    page = view.page
    assert page.input_value("[data-field='id_empresa']") == "1"
    view.send("Hola!!")
    view.wait_replies(1)
    session = view.session_id()
    # the same customer writes to company 2 (not through the page)
    other = app.client.post(
        "/api/agent/chat", json=chat_body("quiero reservar una mesa", session, id_empresa=2)
    )
    assert other.status_code == 200, other.text
    view.send("gracias")
    view.wait_replies(2)
    # the panel shows company 1's conversation: its two turns, nothing of company 2's
    page.wait_for_function("() => document.querySelectorAll('#stored-messages li').length === 4")
    assert view.text("#stored-summary").startswith("2 turnos guardados")
    assert "quiero reservar" not in view.text("#stored-messages")

    # clearing with company 2 in the form clears company 2's conversation only
    page.fill("[data-field='id_empresa']", "2")
    page.click("#clear-session")
    page.wait_for_selector("#notice:not([hidden])")
    assert page.text_content("#notice") == f"Memoria limpiada para session_id: {session}"
    gone = app.client.get(f"/memory/sessions/{session}", params={"id_empresa": 2})
    kept = app.client.get(f"/memory/sessions/{session}", params={"id_empresa": 1})
    assert gone.status_code == 404 and kept.json()["turns"] == 2
    assert view.js_errors == []
