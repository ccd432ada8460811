"""The playground with DOUBLE_TEXTING=merge in a real browser: messages typed in a burst show as
one burst answered by one reply (the merged ones marked, no empty bot bubble)."""

from __future__ import annotations

from collections.abc import Callable

from harness.http_agent import HttpAgent
from harness.orchestrator import StartApp
from tests.playground.conftest import PlaygroundPage

OpenPlayground = Callable[..., PlaygroundPage]


def test_a_burst_typed_into_the_page_shows_as_one_burst(
    start_app: StartApp, open_playground: OpenPlayground
) -> None:
    with HttpAgent("venta", "flat") as venta:
        app = start_app(
            LLM_MODE="offline",
            DOUBLE_TEXTING="merge",
            MERGE_WINDOW_SECONDS=1.5,
            AGENT_VENTA_URL=venta.url,
            AGENT_VENTA_PROTOCOL="http",
        )
        view = open_playground(app)
        page = view.page
        for n, text in enumerate(("hola", "quiero comprar zapatillas", "talla 42"), start=1):
            view.send(text)
            # its stream has started (the server has it) before the next is typed: the arrival
            # order is the typed order (parallel fetches may otherwise overtake each other)
            page.wait_for_function(
                "n => [...document.querySelectorAll('.msg.user')].filter("
                "i => i.dataset.requestId).length === n",
                arg=n,
            )
        view.wait_replies(1)
        page.wait_for_function("() => document.querySelectorAll('.msg.user.merged').length === 2")
        replies = view.bot_replies()
        assert len(replies) == 1  # the merged messages have no bot bubble of their own
        assert replies[0]["action"] == "delegate" and replies[0]["agent"] == "venta"
        assert "ráfaga de 3 mensajes" in replies[0]["meta"]
        users = page.eval_on_selector_all(
            ".msg.user",
            """items => items.map(i => ({
                text: i.querySelector('.bubble').textContent,
                merged: i.classList.contains('merged'),
                burst: i.dataset.burstOf || null,
                request: i.dataset.requestId || null,
            }))""",
        )
        assert [u["text"] for u in users] == ["hola", "quiero comprar zapatillas", "talla 42"]
        assert [u["merged"] for u in users] == [True, True, False]
        assert {u["burst"] for u in users} == {users[2]["request"]}  # all three: one burst
        assert [c["body"]["message"] for c in venta.calls] == [
            "hola\nquiero comprar zapatillas\ntalla 42"
        ]
        view.screenshot("burst.png")
        assert view.js_errors == []
