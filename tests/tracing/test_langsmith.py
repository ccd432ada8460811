"""LangSmith tracing of real turns, against a local endpoint that records every run it receives."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.agents import AgentFactory
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import RunningApp, chat_body
from server.conversations.keys import conversation_key
from server.observability.tracing import client_for, langsmith_client, secret_redactor
from server.settings import Settings
from tests.tracing.recorder import LangSmithRecorder

LANGSMITH_KEY = "lsv2_pt_" + "0123456789abcdef" * 2 + "_1a2b3c4d5e"
OPENAI_KEY = "sk-" + "TestOnlyOpenAIKey" * 3
CLIENT_SECRET = "wa-secret-7f3a9c1e5b"  # an extra config key the client passes through


def roots(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        run for run in runs.values() if not run.get("parent_run_id") and run.get("name") == "turn"
    ]


def metadata(run: dict[str, Any]) -> dict[str, Any]:
    return (run.get("extra") or {}).get("metadata") or {}


def descendants(runs: dict[str, dict[str, Any]], root: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs nested under `root` (same trace, dotted order extending the root's)."""
    return [
        run
        for run in runs.values()
        if run["id"] != root["id"]
        and run.get("trace_id") == root["id"]
        and str(run.get("dotted_order", "")).startswith(root["dotted_order"] + ".")
    ]


@pytest.fixture
def traced_endpoints() -> Iterator[list[str]]:
    """Endpoints a test traces to; their clients' sender threads are stopped afterwards."""
    endpoints: list[str] = []
    yield endpoints
    for endpoint in endpoints:
        langsmith_client(endpoint, LANGSMITH_KEY).close(timeout=2)
    langsmith_client.cache_clear()


@pytest.fixture
def reserva(chat_agent: AgentFactory):
    agent = chat_agent("reserva")
    agent.reset()
    return agent


def traced_settings(stub: OpenAIStub, endpoint: str, **extra: Any) -> dict[str, Any]:
    return {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": stub.base_url,
        "LLM_MODE": "openai",
        "OPENAI_TIMEOUT": 5,
        "OPENAI_MAX_RETRIES": 0,
        "LANGSMITH_TRACING": True,
        "LANGSMITH_ENDPOINT": endpoint,
        "LANGSMITH_API_KEY": LANGSMITH_KEY,
        "LANGSMITH_PROJECT": "maravia-tests",
        **extra,
    }


def test_each_turn_is_one_trace_with_thread_metadata_and_nested_node_runs(
    start_app: Callable[..., RunningApp],
    openai_stub: OpenAIStub,
    recorder: LangSmithRecorder,
    reserva,
    traced_endpoints: list[str],
) -> None:
    traced_endpoints.append(recorder.url)
    app = start_app(agents={"reserva": reserva.url}, **traced_settings(openai_stub, recorder.url))
    openai_stub.enqueue(
        route_json("delegate", "reserva"),
        route_json("respond", reply="¡Con gusto! ¿Algo más?", intent="thanks"),
    )
    first = app.chat(
        "Quiero reservar una mesa para 4", session_id="trace-1", token_whatsapp=CLIENT_SECRET
    )
    second = app.chat("gracias", session_id="trace-1")
    assert first.json()["action"] == "delegate" and second.json()["action"] == "respond"
    langsmith_client(recorder.url, LANGSMITH_KEY).flush()

    runs = recorder.wait_for(lambda rs: len([r for r in roots(rs) if r.get("end_time")]) == 2)
    turn_roots = sorted(roots(runs), key=lambda r: r["start_time"])
    assert len(turn_roots) == 2  # one trace per turn
    delegate, respond = turn_roots
    for root in turn_roots:
        meta = metadata(root)
        # LangSmith threads: the conversation, company and session id (U+001F shows as nothing)
        key = conversation_key(12, "trace-1", "company")
        assert meta["session_id"] == key == meta["thread_id"] == "\x1f12:trace-1"
        assert meta["id_empresa"] == 12 and meta["nombre_bot"] == "Valeria"
        assert root["session_name"] == "maravia-tests"  # LANGSMITH_PROJECT
        assert "empresa:12" in root["tags"]
    assert (
        metadata(delegate)["agent_used"] == "reserva" and metadata(delegate)["action"] == "delegate"
    )
    assert {"agent:reserva", "action:delegate"} <= set(delegate["tags"])
    assert delegate["outputs"]["reply"] == first.json()["reply"]
    assert metadata(respond)["agent_used"] is None and metadata(respond)["action"] == "respond"
    assert {"agent:none", "action:respond"} <= set(respond["tags"])

    nested = descendants(runs, delegate)
    names = {run["name"] for run in nested}
    assert {"router", "agent_reserva", "responder"} <= names
    assert any(run["run_type"] == "llm" for run in nested)  # the router's model call
    assert all(metadata(run).get("session_id") == key for run in nested)
    assert "agent_reserva" not in {run["name"] for run in descendants(runs, respond)}

    # no secret in anything sent; the LangSmith key travels only as the auth header
    sent = b"\n".join(recorder.bodies).decode("utf-8", "replace")
    for secret in (OPENAI_KEY, LANGSMITH_KEY, CLIENT_SECRET):
        assert secret not in sent
    assert "Quiero reservar una mesa para 4" in sent  # the content itself is traced
    assert {r["headers"].get("x-api-key") for r in recorder.ingest_requests()} == {LANGSMITH_KEY}


def test_a_failed_turn_is_traced_with_its_error(
    start_app: Callable[..., RunningApp],
    openai_stub: OpenAIStub,
    recorder: LangSmithRecorder,
    reserva,
    traced_endpoints: list[str],
) -> None:
    traced_endpoints.append(recorder.url)
    app = start_app(agents={"reserva": reserva.url}, **traced_settings(openai_stub, recorder.url))
    reserva.control(fail_next=10)  # agent errors: fallback reply
    openai_stub.enqueue(route_json("delegate", "reserva"))
    body = app.chat("Quiero reservar", session_id="trace-err").json()
    assert body["action"] == "respond" and body["agent_used"] is None
    langsmith_client(recorder.url, LANGSMITH_KEY).flush()
    runs = recorder.wait_for(lambda rs: any(r.get("end_time") for r in roots(rs)))
    (root,) = roots(runs)
    assert metadata(root)["action"] == "respond"
    assert "agent_reserva" in {run["name"] for run in descendants(runs, root)}  # it was tried


def test_tracing_off_sends_nothing_even_with_langsmith_env(
    start_app: Callable[..., RunningApp],
    openai_stub: OpenAIStub,
    recorder: LangSmithRecorder,
    reserva,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The environment would turn LangChain's own tracer on; the service's setting wins.
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_ENDPOINT", recorder.url)
    monkeypatch.setenv("LANGSMITH_API_KEY", LANGSMITH_KEY)
    app = start_app(
        agents={"reserva": reserva.url},
        **traced_settings(openai_stub, recorder.url, LANGSMITH_TRACING=False),
    )
    openai_stub.enqueue(route_json("delegate", "reserva"))
    assert app.chat("Quiero reservar una mesa", session_id="quiet-1").json()["action"] == "delegate"
    time.sleep(1.5)  # the sender flushes within ms
    assert recorder.requests == [], json.dumps(recorder.requests)[:500]


def test_tracing_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "LANGSMITH_TRACING",
        "LANGSMITH_API_KEY",
        "LANGSMITH_PROJECT",
        "LANGSMITH_ENDPOINT",
    ):
        monkeypatch.delenv(var, raising=False)
    settings = Settings(_env_file=None)
    assert settings.LANGSMITH_TRACING is False and settings.LANGSMITH_API_KEY is None
    assert client_for(settings) is None


def test_redactor_masks_secret_names_and_key_looking_values() -> None:
    redact = secret_redactor()
    data = {
        "config": {
            "api_token": "abcdef123456",
            "max_tokens": 50,
            "nombre_bot": "Valeria",
            "password": "hunter2hunter2",
        },
        "messages": [{"content": f"mi clave es {OPENAI_KEY}"}],
    }
    out = redact(data)
    assert out["config"] == {
        "api_token": "[REDACTED]",
        "max_tokens": 50,
        "nombre_bot": "Valeria",
        "password": "[REDACTED]",
    }
    assert OPENAI_KEY not in json.dumps(out) and "mi clave es" in json.dumps(out)


def test_a_hanging_langsmith_does_not_delay_or_fail_turns(
    start_app: Callable[..., RunningApp],
    openai_stub: OpenAIStub,
    recorder: LangSmithRecorder,
    reserva,
    traced_endpoints: list[str],
) -> None:
    """LangSmith accepting requests but not answering: every turn is answered while all of its
    trace is still held (order of events), well inside the LangSmith client's own timeout that
    a turn waiting on it would have to sit out; the runs arrive once LangSmith answers."""
    traced_endpoints.append(recorder.url)
    settings = traced_settings(openai_stub, recorder.url)
    app = start_app(agents={"reserva": reserva.url}, **settings)
    client_timeout = min(langsmith_client(recorder.url, LANGSMITH_KEY).timeout_ms) / 1000
    recorder.stall = True
    for turn in range(3):
        openai_stub.enqueue(route_json("delegate", "reserva"))
        started = time.perf_counter()
        response = app.chat(f"Quiero reservar, mensaje {turn}", session_id="trace-slow")
        assert response.status_code == 200 and response.json()["agent_used"] == "reserva"
        assert time.perf_counter() - started < client_timeout / 2, client_timeout
        assert recorder.runs() == {}  # answered while LangSmith still held everything
    recorder.stall = False
    runs = recorder.wait_for(lambda rs: len([r for r in roots(rs) if r.get("end_time")]) == 3)
    assert {metadata(r)["session_id"] for r in roots(runs)} == {"\x1f12:trace-slow"}


def test_a_streamed_turn_is_one_trace_too(
    start_app: Callable[..., RunningApp],
    openai_stub: OpenAIStub,
    recorder: LangSmithRecorder,
    reserva,
    traced_endpoints: list[str],
) -> None:
    traced_endpoints.append(recorder.url)
    app = start_app(agents={"reserva": reserva.url}, **traced_settings(openai_stub, recorder.url))
    openai_stub.enqueue(route_json("delegate", "reserva"))
    stream = app.client.post(
        "/api/agent/chat/stream", json=chat_body("Quiero reservar una mesa", session_id="trace-sse")
    )
    assert stream.status_code == 200 and "event: done" in stream.text
    langsmith_client(recorder.url, LANGSMITH_KEY).flush()
    runs = recorder.wait_for(lambda rs: any(r.get("end_time") for r in roots(rs)))
    (root,) = roots(runs)
    assert (
        metadata(root)["session_id"] == "\x1f12:trace-sse"
        and metadata(root)["action"] == "delegate"
    )
    assert "agent_reserva" in {run["name"] for run in descendants(runs, root)}
