"""The playground when things fail: an agent down (fallback, no error text), a stream's `error`."""

from __future__ import annotations

import threading
from collections.abc import Callable

from harness.agents import AgentFactory
from harness.orchestrator import StartApp, chat_body
from tests.playground.conftest import PlaygroundPage

OpenPlayground = Callable[..., PlaygroundPage]
FALLBACK = "Déjame consultarlo con el equipo y te confirmo en breve."  # the demo's frase_no_sabe


def test_a_failing_agent_shows_the_fallback_and_leaks_nothing(
    start_app: StartApp, chat_agent: AgentFactory, open_playground: OpenPlayground
) -> None:
    agent = chat_agent("reserva", fail_first=100)
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline", MCP_MAX_RETRIES=1)
    view = open_playground(app)
    view.send("quiero reservar una mesa para 4")
    view.wait_replies(1)
    reply = view.bot_replies()[0]
    assert agent.stats()["chat_calls"], "the agent was really called"
    assert reply == {
        "text": FALLBACK,
        "error": False,
        "action": "respond",
        "agent": "",
        "meta": reply["meta"],
    }
    page_text = view.text("body")
    for leak in ("fallo simulado", "RuntimeError", "Traceback", "Exception", "McpError"):
        assert leak not in page_text
    assert view.js_errors == []


def test_a_stream_error_event_is_shown_in_the_page(
    start_app: StartApp, chat_agent: AgentFactory, open_playground: OpenPlayground
) -> None:
    agent = chat_agent("reserva", delay=4.0)
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        TURN_TIMEOUT=1.5,
        SESSION_LOCK_TIMEOUT=2.0,
    )
    view = open_playground(app)
    page = view.page
    session = view.session_id()
    # two slow turns of another client hold this conversation (the page's company, 1; each up to
    # TURN_TIMEOUT): the page's message, queued behind both, outwaits SESSION_LOCK_TIMEOUT
    company = int(page.input_value("[data-field='id_empresa']"))
    busy = [
        threading.Thread(
            target=lambda: app.client.post(
                "/api/agent/chat",
                json=chat_body("quiero reservar una mesa", session, id_empresa=company),
            )
        )
        for _ in range(2)
    ]
    busy[0].start()
    for _ in range(200):  # until the agent is working on that turn (at most ~10 s)
        if agent.stats()["in_flight"]:
            break
        page.wait_for_timeout(50)
    assert agent.stats()["in_flight"] == 1
    busy[1].start()
    page.wait_for_timeout(100)
    view.send("hola")
    view.wait_replies(1)
    for thread in busy:
        thread.join(30)
    reply = view.bot_replies()[0]
    assert reply["error"]
    assert reply["text"].endswith("(409)")
    assert "conversación" in reply["text"] or "mensaje" in reply["text"]  # the Spanish detail
    assert view.js_errors == []
