"""A company's key echoed back by an agent or a model is *** before the reply (and url) is
returned, streamed, stored or logged: at DEBUG too (the SSE library logs every event it sends)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from harness.agents import AgentFactory
from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub, route_json, text, tool_calls
from harness.orchestrator import OrchestratorProcess, StartApp, model_settings
from tests.n8n.helpers import SESSION, agent_env, read_events, today_body
from tests.n8n.test_secrets import postgres_values, sqlite_bytes

ECHO = "Listo, registré tu cita. Tu clave es {api_key} (turno {turn})"


def company_key() -> str:
    """A key unlike the `sk-…` pattern the log scrubber knows, so only real care hides it."""
    return f"empresa7-clave-{uuid.uuid4().hex}"


def settings(cita: HttpAgent, stub: OpenAIStub) -> dict[str, Any]:
    return {**agent_env({"cita": cita}), **model_settings(stub, OPENAI_API_KEY="server-key-0123")}


def echo_turns(post: Any, stream: Any, cita: HttpAgent, stub: OpenAIStub, key: str) -> list[str]:
    """An agent echoing the key (reply and url), then the model doing so; /chat and the stream.
    Returns every text the customer received."""
    cita.state.reply_format = ECHO
    cita.state.url = f"https://cdn.example.com/cita.pdf?firma={key}"
    stub.set_handler(lambda req: route_json("delegate", "cita"))
    seen = []
    r = post(today_body("Quiero una cita", SESSION, api_key=key))
    assert r.status_code == 200, r.text
    assert r.json()["reply"] == "Listo, registré tu cita. Tu clave es *** (turno 1)"
    assert r.json()["url"] == "https://cdn.example.com/cita.pdf?firma=***"
    seen.append(r.text)
    events = stream(today_body("Para el lunes", SESSION, api_key=key))
    assert events[-1][0] == "done"
    assert events[-1][1]["reply"] == "Listo, registré tu cita. Tu clave es *** (turno 2)"
    tokens = "".join(data["text"] for name, data in events if name == "token")
    assert tokens == events[-1][1]["reply"]
    seen.append(json.dumps(events))
    stub.set_handler(None)
    stub.enqueue(
        route_json("respond", reply=f"Tu clave de la empresa es {key}.", intent="business")
    )
    r = post(today_body("¿Cuál es mi clave?", SESSION, api_key=key))
    assert r.json()["reply"] == "Tu clave de la empresa es ***."
    seen.append(r.text)
    stub.enqueue(route_json("respond", reply=f"Otra vez: {key}", intent="business"))
    events = stream(today_body("¿Y otra vez?", SESSION, api_key=key))
    assert events[-1][1]["reply"] == "Otra vez: ***"
    seen.append(json.dumps(events))
    return seen


def test_an_echoed_key_is_masked_for_the_customer_and_in_storage(
    start_app: StartApp, storage: dict[str, Any], openai_stub: OpenAIStub, cita: HttpAgent
) -> None:
    key = company_key()
    app = start_app(**storage, **settings(cita, openai_stub))
    seen = echo_turns(
        lambda body: app.client.post("/api/agent/chat", json=body),
        lambda body: read_events(app, body),
        cita,
        openai_stub,
        key,
    )
    assert cita.last_body()["api_key"] == key  # the key did reach the agent
    assert not [text for text in seen if key in text]
    memory = app.client.get(f"/memory/sessions/{SESSION}")
    assert memory.status_code == 200 and "Tu clave es *** (turno 1)" in memory.text
    assert key not in memory.text
    if storage:
        stored = postgres_values(storage["DATABASE_URL"])
        assert any(b"Tu clave es ***" in value for value in stored)  # the right rows
        assert not [value for value in stored if key.encode() in value]
    else:
        app.stop()  # the WAL checkpointed into the file too
        raw = sqlite_bytes(app)
        assert b"Tu clave es ***" in raw and key.encode() not in raw


def test_a_tool_loop_models_live_tokens_never_show_the_key(
    start_app: StartApp, openai_stub: OpenAIStub, tool_agent: AgentFactory
) -> None:
    key = company_key()
    agent = tool_agent("reserva")
    app = start_app(
        agents={"reserva": agent.url}, MCP_RESERVA_MODE="tools", **model_settings(openai_stub)
    )
    answer = f"Reservado para el sábado. Por cierto, tu clave es {key} y no la compartas."
    openai_stub.enqueue(
        route_json("delegate", "reserva"),
        tool_calls([("listar_servicios", {})], content=""),
        text(answer, chunk_delay=0.01),
    )
    body = {
        **today_body("Quiero reservar el sábado", "live-key", api_key=key),
        "config": {"nombre_bot": "Valeria", "frase_no_sabe": "Déjame consultarlo."},
    }
    events = read_events(app, body)
    assert events[-1][0] == "done", events
    masked = answer.replace(key, "***")
    tokens = [data["text"] for name, data in events if name == "token"]
    assert len(tokens) > 3  # the model's own stream, live
    assert "".join(tokens) == masked == events[-1][1]["reply"]
    assert key not in json.dumps(events)


def test_debug_logs_never_show_an_echoed_key(
    tmp_path: Path, openai_stub: OpenAIStub, cita: HttpAgent
) -> None:
    key = company_key()
    env = {
        **settings(cita, openai_stub),
        "LOG_LEVEL": "DEBUG",
        "CHECKPOINT_DB": str(tmp_path / "c.sqlite"),
    }
    proc = OrchestratorProcess(tmp_path, env).start()
    try:
        app: Any = proc  # read_events needs only `.client`
        seen = echo_turns(
            lambda body: proc.client.post("/api/agent/chat", json=body),
            lambda body: read_events(app, body),
            cita,
            openai_stub,
            key,
        )
        assert not [text for text in seen if key in text]
    finally:
        proc.close()
    log = proc.process.log_path.read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line["logger"].startswith("sse_starlette") for line in lines)  # it did log
    assert any("Tu clave es ***" in line["message"] for line in lines)  # the events, masked
    leaks = [line for line in log.splitlines() if key in line or key[-12:] in line]
    assert not leaks, leaks[:3]
