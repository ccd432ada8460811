"""A model answer that cannot be read (an HTML page, no `choices`, a JSON too deep to decode) or
a company key the HTTP client cannot send is a model failure: the offline router answers, it
counts as `llm_fallbacks` (not `internal_errors`) and is one WARNING line without a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.agents import AgentFactory
from harness.openai_stub import (
    OpenAIStub,
    deep_json,
    empty_choices,
    html_page,
    route_json,
    tool_calls,
)
from harness.orchestrator import OrchestratorProcess, StartApp, chat_body, model_settings
from tests.core.test_stream_tokens import read_events

BOOK = "quiero reservar una mesa para 4 personas"
UNSENDABLE_KEY = "clave-ñandú-0123456789"  # not ASCII: cannot go in an Authorization header
FAILURES: dict[str, Callable[[], Any]] = {
    "html": html_page,
    "empty_choices": empty_choices,
    "deep_json": deep_json,
}


@pytest.fixture
def reserva(chat_agent: AgentFactory) -> Any:
    agent = chat_agent("reserva")
    agent.reset()
    return agent


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_an_unreadable_answer_is_a_model_failure(
    start_app: StartApp, openai_stub: OpenAIStub, reserva: Any, failure: str
) -> None:
    app = start_app(agents={"reserva": reserva.url}, **model_settings(openai_stub))
    openai_stub.set_handler(lambda req: FAILURES[failure]())
    r = app.chat(BOOK, session_id=f"u-{failure}")
    assert r.status_code == 200, r.text
    assert r.json()["agent_used"] == "reserva"  # the offline router routed it
    events = read_events(app, chat_body(BOOK, f"u-{failure}"))
    assert events[-1][0] == "done" and events[-1][1]["agent_used"] == "reserva"
    assert openai_stub.request_count == 2  # the model was asked both times
    metrics = app.metrics()
    assert metrics["llm_fallbacks"] == 2 and metrics["internal_errors"] == {}


def test_a_key_the_client_cannot_send_is_a_model_failure(
    start_app: StartApp, openai_stub: OpenAIStub, reserva: Any
) -> None:
    app = start_app(agents={"reserva": reserva.url}, **model_settings(openai_stub))
    body = {**chat_body(BOOK, "u-key"), "api_key": UNSENDABLE_KEY}
    r = app.client.post("/api/agent/chat", json=body)
    assert r.status_code == 200 and r.json()["agent_used"] == "reserva"
    assert UNSENDABLE_KEY not in r.text
    events = read_events(app, body)
    assert events[-1][0] == "done" and events[-1][1]["agent_used"] == "reserva"
    assert openai_stub.request_count == 0  # never sent
    metrics = app.metrics()
    assert metrics["llm_fallbacks"] == 2 and metrics["internal_errors"] == {}


def test_a_tool_loop_model_answering_html_is_the_fallback_counted(
    start_app: StartApp, openai_stub: OpenAIStub, tool_agent: AgentFactory
) -> None:
    agent = tool_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url}, MCP_RESERVA_MODE="tools", **model_settings(openai_stub)
    )
    openai_stub.enqueue(route_json("delegate", "reserva"), html_page())
    r = app.chat("¿qué servicios tienen para reservar?", session_id="u-loop")
    assert r.status_code == 200 and r.json()["action"] == "respond"
    assert r.json()["reply"] == "Déjame consultarlo con el equipo y te confirmo en breve."
    openai_stub.enqueue(
        route_json("delegate", "reserva"), tool_calls([("listar_servicios", {})]), empty_choices()
    )
    assert app.chat("¿y qué más tienen?", session_id="u-loop").status_code == 200
    metrics = app.metrics()
    assert metrics["llm_fallbacks"] == 2 and metrics["internal_errors"] == {}


def test_the_log_has_one_warning_per_failure_and_no_traceback(
    tmp_path: Path, openai_stub: OpenAIStub, reserva: Any
) -> None:
    env = {
        **model_settings(openai_stub),
        "MCP_RESERVA_URL": reserva.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "CHECKPOINT_DB": str(tmp_path / "c.sqlite"),
    }
    proc = OrchestratorProcess(tmp_path, env).start()
    try:
        for name, spec in FAILURES.items():
            openai_stub.enqueue(spec())
            assert proc.chat(BOOK, session_id=f"log-{name}").status_code == 200
        body = {**chat_body(BOOK, "log-key"), "api_key": UNSENDABLE_KEY}
        assert proc.client.post("/api/agent/chat", json=body).status_code == 200
        metrics = proc.client.get("/metrics").json()
    finally:
        proc.close()
    assert metrics["llm_fallbacks"] == 4 and metrics["internal_errors"] == {}
    log = proc.process.log_path.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    failed = [line for line in lines if line["message"].startswith("model router failed")]
    assert [line["level"] for line in failed] == ["WARNING"] * 4
    assert [line["extra_fields"]["error"] for line in failed] == [
        "AttributeError",  # the HTML page reached the client as text
        "IndexError",  # choices[0] of an empty list
        "RecursionError",  # 50,000 nested arrays
        "UnicodeEncodeError",  # the header that cannot be written
    ]
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
    assert not [line for line in lines if "exc_info" in line]
    assert "Traceback" not in log and UNSENDABLE_KEY not in log
