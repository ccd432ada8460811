"""A company's key is a secret: never at rest (SQLite file and WAL, PostgreSQL rows), never in
DEBUG logs, admin endpoints or the answer of a failing turn."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.http_agent import HttpAgent
from harness.openai_specs import error, route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import OrchestratorProcess, RunningApp, StartApp, model_settings
from tests.n8n.helpers import agent_env, today_body

CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
SESSION = 51955544433


def company_key() -> str:
    """A key unlike the `sk-…` pattern the log scrubber knows, so only real care hides it."""
    return f"empresa7-clave-{uuid.uuid4().hex}"


def run_turns(app: Any, key: str, agents: dict[str, HttpAgent], stub: OpenAIStub) -> list[Any]:
    """Turns with the key: delegated, answered by the model, a model failure, an agent failure,
    a 422 from an agent that echoes the whole body (a misconfigured body shape), bad requests."""
    replies = []
    stub.set_handler(lambda req: route_json("delegate", "cita"))
    for text in ("Quiero una cita", "Para el lunes a las 10"):
        replies.append(app.post(today_body(text, SESSION, api_key=key)))
    stub.enqueue(route_json("respond", reply="Atendemos de 9 a 18.", intent="business"))
    replies.append(app.post(today_body("¿A qué hora abren?", SESSION, api_key=key)))
    # the model refuses the key, echoing it as OpenAI's 401 does
    stub.enqueue(error(401, message=f"Incorrect API key provided: {key}"))
    replies.append(app.post(today_body("Quiero una cita", SESSION, api_key=key)))
    # the agent fails, its error text echoing the key in prose
    agents["cita"].state.error_detail = "Error code: 401 - Incorrect API key provided: {api_key}"
    agents["cita"].state.statuses.append(500)
    replies.append(app.post(today_body("Quiero otra cita", SESSION, api_key=key)))
    # `mal` is the context-shaped reserva agent declared with the flat body: FastAPI's 422
    # echoes the body it got, key included (a short config keeps the key in the logged text)
    stub.enqueue(route_json("delegate", "mal"))
    short = {"nombre_bot": "V", "modalidad": "x"}
    replies.append(app.post({**today_body("Reservar", SESSION, api_key=key), "config": short}))
    for bad in ({"id_empresa": 0}, {"session_id": [1]}, {"api_key": [key]}, {"message": ""}):
        replies.append(app.post({**today_body("hola", SESSION, api_key=key), **bad}))
    return replies


def check_replies(replies: list[Any], key: str) -> None:
    codes = [r.status_code for r in replies]
    assert codes == [200] * 6 + [400] * 4, [r.text for r in replies]
    assert replies[0].json()["agent_used"] == "cita"
    assert replies[2].json()["reply"] == "Atendemos de 9 a 18."
    assert replies[4].json()["action"] == replies[5].json()["action"] == "respond"
    for r in replies:
        assert key not in r.text and key[-12:] not in r.text


def settings_with_agents(agents: dict[str, HttpAgent], stub: OpenAIStub) -> dict[str, Any]:
    return {
        **agent_env({"cita": agents["cita"]}),
        "AGENT_MAL_URL": agents["reserva"].url,
        "AGENT_MAL_BODY": "flat",
        **model_settings(stub, OPENAI_API_KEY="server-key-0123456789"),
    }


class Poster:
    """The running app's POST of a JSON body (the same for a thread and a process)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(self, body: dict[str, Any]) -> Any:
        return self.client.post("/api/agent/chat", json=body)


def admin_pages(client: Any) -> str:
    """Every admin page's text after the turns."""
    pages = [
        client.get(path)
        for path in (
            "/memory/stats",
            f"/memory/sessions/{SESSION}",
            "/config",
            "/metrics",
            "/metrics/prometheus",
            "/",
        )
    ]
    assert [p.status_code for p in pages] == [200] * 6
    assert f"{SESSION}" in pages[0].text and "Quiero una cita" in pages[1].text
    return "\n".join(p.text for p in pages)


def sqlite_bytes(app: RunningApp) -> bytes:
    path = Path(app.settings.CHECKPOINT_DB)
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    assert path in files
    return b"".join(p.read_bytes() for p in files)


def postgres_values(url: str) -> list[bytes]:
    """Every column of every row of the checkpoint tables, as bytes (and each row as text)."""
    values: list[bytes] = []
    with psycopg.connect(url) as conn:
        for table in CHECKPOINT_TABLES:
            for (row_text,) in conn.execute(f"SELECT t::text FROM {table} t"):
                values.append(row_text.encode())
            for row in conn.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        values.append(bytes(value))
                    elif value is not None:
                        values.append(json.dumps(value, default=str).encode())
    return values


def test_the_key_is_not_at_rest_nor_on_admin_pages(
    start_app: StartApp,
    storage: dict[str, Any],
    openai_stub: OpenAIStub,
    agents: dict[str, HttpAgent],
) -> None:
    key = company_key()
    app = start_app(**storage, **settings_with_agents(agents, openai_stub))
    check_replies(run_turns(Poster(app.client), key, agents, openai_stub), key)
    assert agents["cita"].last_body()["api_key"] == key  # the key did travel this turn
    assert agents["reserva"].state.requests >= 1  # the misconfigured agent was called (422)
    pages = admin_pages(app.client)
    assert key not in pages
    if storage:
        stored = postgres_values(storage["DATABASE_URL"])
        assert any(b"Para el lunes" in value for value in stored)  # the right rows
        assert not [value for value in stored if key.encode() in value]
    else:
        raw = sqlite_bytes(app)
        assert b"Para el lunes" in raw  # the right file
        assert key.encode() not in raw
        app.stop()  # a checkpointed WAL too
        raw = sqlite_bytes(app)
        assert b"Para el lunes" in raw and key.encode() not in raw


def test_debug_logs_of_the_process_never_show_the_key(
    tmp_path: Path, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    key = company_key()
    env = {
        **settings_with_agents(agents, openai_stub),
        "LOG_LEVEL": "DEBUG",
        "CHECKPOINT_DB": str(tmp_path / "c.sqlite"),
    }
    proc = OrchestratorProcess(tmp_path, env).start()
    try:
        check_replies(run_turns(Poster(proc.client), key, agents, openai_stub), key)
        assert key not in admin_pages(proc.client)
    finally:
        proc.close()
    log = proc.process.log_path.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line["level"] == "DEBUG" for line in lines)
    details = [line for line in lines if line["message"] == "agent error detail"]
    assert any("api_key" in line["extra_fields"]["reason"] for line in details)  # 422 echo logged
    assert any("Incorrect API key" in line["extra_fields"]["reason"] for line in details)
    assert sum(line["message"] == "turn" for line in lines) == 6  # the 400s are not turns
    assert agents["cita"].last_body()["api_key"] == key
    leaks = [line for line in log.splitlines() if key in line or key[-12:] in line]
    assert not leaks, leaks[:3]


@pytest.mark.parametrize("value", ["", "  "])
def test_no_key_sent_is_no_key_forwarded(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent], value: str
) -> None:
    app = start_app(**settings_with_agents(agents, openai_stub))
    openai_stub.set_handler(lambda req: route_json("delegate", "cita"))
    r = app.client.post("/api/agent/chat", json=today_body("Quiero una cita", api_key=value))
    assert r.status_code == 200, r.text
    assert openai_stub.request_headers[-1]["authorization"] == "Bearer server-key-0123456789"
    assert agents["cita"].last_body()["api_key"] is None


def test_traces_never_carry_the_key(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    from server.observability.tracing import langsmith_client
    from tests.tracing.recorder import LangSmithRecorder

    key = company_key()
    tracing_key = "lsv2_pt_" + "0123456789abcdef" * 2 + "_1a2b3c4d5e"
    with LangSmithRecorder() as recorder:
        app = start_app(
            **settings_with_agents(agents, openai_stub),
            LANGSMITH_TRACING=True,
            LANGSMITH_ENDPOINT=recorder.url,
            LANGSMITH_API_KEY=tracing_key,
        )
        try:
            replies = run_turns(Poster(app.client), key, agents, openai_stub)
            check_replies(replies, key)
            client = langsmith_client(recorder.url, tracing_key)
            client.flush()
            recorder.wait_for(lambda runs: len(runs) > 10)
            sent = b"\n".join(recorder.bodies)
        finally:
            app.stop()
            langsmith_client(recorder.url, tracing_key).close(timeout=2)
            langsmith_client.cache_clear()
    assert b"Para el lunes" in sent  # the turns were traced
    at = sent.find(key.encode())
    assert at < 0, sent[max(0, at - 1500) : at + 200]
    assert key[-12:].encode() not in sent
