"""An agent's url is cleaned like replies (NUL, CR/LF, bidi overrides removed) and bounded by
MAX_URL_CHARS before it is returned, streamed or stored, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.http_agent import HttpAgent
from harness.orchestrator import RunningApp, StartApp
from server.conversations.keys import conversation_key
from tests.n8n.helpers import COMPANY, SESSION, agent_env, post, read_events, today_body

DIRTY = "https://cdn.example.com/carta/\x00menu\r\n\u202egpj.pdf?v=1"
CLEAN = "https://cdn.example.com/carta/menugpj.pdf?v=1"
HUGE = "https://cdn.example.com/" + "a" * 5_000_000  # 5 MB


def start(start_app: StartApp, cita: HttpAgent, **settings: Any) -> RunningApp:
    """The gateway's behaviour (every turn to the modalidad's agent), offline."""
    return start_app(
        **agent_env({"cita": cita}),
        LLM_MODE="offline",
        ROUTING_MODE="direct",
        # the agents branch's body limit (MAX_AGENT_RESPONSE_BYTES, 1 MiB) must not be what
        # refuses the 5 MB url here: this test is about the url itself
        MAX_AGENT_RESPONSE_BYTES=16 * 1024 * 1024,
        **settings,
    )


def stored_state(app: RunningApp, session: Any = SESSION) -> dict[str, Any]:
    """The conversation's checkpointed values (company COMPANY), read back from the storage."""
    thread = conversation_key(COMPANY, str(session), "company")
    config = {"configurable": {"thread_id": thread}}
    return dict(app.call(app.services.turns.graph.aget_state(config)).values)


def test_a_dirty_url_is_returned_streamed_and_stored_clean(
    start_app: StartApp, storage: dict[str, Any], cita: HttpAgent
) -> None:
    app = start(start_app, cita, **storage)
    cita.state.url = DIRTY
    r = post(app, today_body("Quiero una cita", SESSION))
    assert r.status_code == 200, r.text  # PostgreSQL refused the NUL: a 500 after the agent acted
    assert r.json()["url"] == CLEAN and r.json()["agent_used"] == "cita"
    assert stored_state(app)["url"] == CLEAN
    events = read_events(app, today_body("Y para el lunes", SESSION))
    assert events[-1][0] == "done", events
    assert events[-1][1]["url"] == CLEAN and events[-1][1]["agent_used"] == "cita"
    assert stored_state(app)["url"] == CLEAN
    assert app.metrics()["urls_dropped"] == 0  # cleaned, not dropped
    if not storage:  # the SQLite file and its WAL hold the clean url and no U+202E
        db = Path(app.settings.CHECKPOINT_DB)
        raw = b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())
        assert CLEAN.encode() in raw and "\u202e".encode() not in raw


def test_a_5mb_url_is_dropped_the_reply_kept(
    start_app: StartApp, storage: dict[str, Any], cita: HttpAgent
) -> None:
    app = start(start_app, cita, **storage)
    cita.state.url = HUGE
    r = post(app, today_body("Quiero una cita", SESSION))
    assert r.status_code == 200, r.text[:300]
    assert r.json()["url"] is None
    assert r.json()["reply"].startswith("[cita] recibido: Quiero una cita")  # the agent answered
    assert stored_state(app)["url"] is None
    thread = conversation_key(COMPANY, str(SESSION), "company")
    size, rows = app.call(app.services.backend.ops.thread_bytes(thread))
    assert rows == 1 and size < 64 * 1024, size  # not a 5 MB checkpoint
    events = read_events(app, today_body("Y para el lunes", SESSION))
    assert events[-1][0] == "done" and events[-1][1]["url"] is None
    assert events[-1][1]["agent_used"] == "cita"
    assert app.metrics()["urls_dropped"] == 2
    text = app.client.get("/metrics/prometheus").text
    assert 'orquestador_agent_urls_dropped_total{problem="too_long"} 2.0' in text


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://files.example.com/a.pdf", "https://", "/a/b.png"]
)
def test_a_url_that_is_not_http_is_dropped(start_app: StartApp, cita: HttpAgent, url: str) -> None:
    app = start(start_app, cita)
    cita.state.url = url
    r = post(app, today_body("Quiero una cita", SESSION))
    assert r.status_code == 200 and r.json()["url"] is None
    assert r.json()["agent_used"] == "cita"
    assert app.metrics()["urls_dropped"] == 1
    text = app.client.get("/metrics/prometheus").text
    assert 'orquestador_agent_urls_dropped_total{problem="not_http"} 1.0' in text


def test_max_url_chars_is_the_bound(start_app: StartApp, cita: HttpAgent) -> None:
    app = start(start_app, cita, MAX_URL_CHARS=64)
    fits = "https://cdn.example.com/" + "b" * 40  # 64 characters
    cita.state.url = fits
    assert post(app, today_body("Quiero una cita", SESSION)).json()["url"] == fits
    cita.state.url = fits + "c"
    assert post(app, today_body("Quiero una cita", SESSION)).json()["url"] is None
    assert app.metrics()["urls_dropped"] == 1
