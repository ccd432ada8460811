"""Hostile text (NUL, lone surrogates, bidi overrides) through message, context and agent reply."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graph.reply_bound import bound_text
from graph.text_clean import clean_text, is_blank
from harness.agents import AgentFactory
from harness.context_server import ContextServer
from harness.orchestrator import RunningApp, StartApp, chat_body
from server.conversations.keys import conversation_key

HOSTILE = "ho\x00la \ud800 \u202eodnum\u202c \u2066x\u2069 \x1b[31m"
UNSAFE = ("\x00", "\ud800", "\u202e", "\u202c", "\u2066", "\u2069", "\x1b")


def assert_clean(text: str) -> None:
    assert not any(ch in text for ch in UNSAFE), repr(text)
    text.encode("utf-8")  # no lone surrogate left


def test_clean_text_keeps_ordinary_unicode() -> None:
    kept = "¡Hola, Ñandú! 😀👩‍💻 \u05e9\u05dc\u05d5\u05dd\n\tfin"
    assert clean_text(kept) == kept
    assert clean_text(HOSTILE) == "hola  odnum x [31m"
    assert clean_text("a\r\nb\rc") == "a\nb\nc"
    assert is_blank("\u200b\u200b \ufeff") and not is_blank("\u200bx")


def test_bound_text_cuts_at_a_word_boundary() -> None:
    assert bound_text("hola mundo", 10) == "hola mundo"
    cut = bound_text("uno dos tres cuatro cinco", 15)
    assert cut == "uno dos tres…" and len(cut) <= 15
    assert bound_text("x" * 50, 10) == "x" * 9 + "…"


def post_raw(app: RunningApp, body: dict[str, Any]) -> Any:
    # json.dumps writes "\ud800" as an escape: the request is valid JSON a client can send
    return app.post_raw(json.dumps(body))


def stored_values(app: RunningApp, session_id: str, company: int = 12) -> dict[str, Any]:
    key = conversation_key(company, session_id, "company")
    return app.call(
        app.services.turns.graph.aget_state({"configurable": {"thread_id": key}})
    ).values


def stored_messages(app: RunningApp, session_id: str, company: int = 12) -> list[str]:
    values = stored_values(app, session_id, company)
    return [m.text for m in values["messages"]] + [values["reply"]]


def test_message_of_only_zero_width_spaces_is_the_empty_400(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    r = post_raw(app, chat_body("\u200b\u200b\u200b", "zw"))
    assert r.status_code == 400
    assert r.json() == {"detail": "El campo 'message' no puede estar vacío"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_hostile_message_context_and_reply_are_stored_clean(
    backend: str,
    start_app: StartApp,
    echo_agent: AgentFactory,
    context_server: ContextServer,
    request: pytest.FixtureRequest,
) -> None:
    storage = {} if backend == "sqlite" else {"DATABASE_URL": request.getfixturevalue("pg_url")}
    agent = echo_agent("reserva")
    context_server.set_context(77, "Horario " + HOSTILE)
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        CONTEXTO_NEGOCIO_ENDPOINT=context_server.url,
        **storage,
    )
    # 1. the message (and a config string) carry the hostile characters; business context too
    r = post_raw(app, chat_body("Hola " + HOSTILE, "h1", id_empresa=77, nombre_bot="Val\x00eria"))
    assert r.status_code == 200, r.text
    assert_clean(r.json()["reply"])
    values = stored_values(app, "h1", 77)
    # the business context and the client's config are per-turn data: never stored
    assert "business_context" not in values and "bot_config" not in values
    for text in stored_messages(app, "h1", 77):
        assert_clean(text)
    # 2. the agent's reply carries them raw (the message spells them as JSON escapes); not a lone
    # surrogate: no MCP server can encode one, and the MCP client's JSON parser refuses it
    hostile_reply = "Reserva lista " + HOSTILE.replace("\ud800", "")
    raw_reply = json.dumps(hostile_reply)
    r = app.chat("quiero reservar una mesa", "h2", id_empresa=77)
    assert r.status_code == 200 and r.json()["agent_used"] == "reserva"
    r = app.chat("json:" + raw_reply, "h2", id_empresa=77)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["agent_used"] == "reserva"
    assert body["reply"] == clean_text(hostile_reply)
    assert_clean(body["reply"])
    texts = stored_messages(app, "h2", 77)
    assert body["reply"] in texts
    for text in texts:
        assert_clean(text)
    stats = app.client.get("/memory/stats").json()["sessions"]
    assert stats["h1"] == 1 and stats["h2"] == 2


def test_hostile_config_keys_and_values_are_cleaned(
    start_app: StartApp, echo_agent: AgentFactory
) -> None:
    agent = echo_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline")
    body = chat_body(
        "\ud800quiero reservar una mesa", "cfg", extra="\udfffok\u202e", **{"\ud800": 1}
    )
    r = post_raw(app, body)
    assert r.status_code == 200, r.text
    assert r.json()["agent_used"] == "reserva"
    config = agent.chat_calls()[-1]["context"]["config"]  # what the agent was given
    assert config["extra"] == "ok" and config[""] == 1
    values = stored_values(app, "cfg")
    assert values["messages"][0].text == "quiero reservar una mesa"
