"""A whole conversation through the real app process: no text, contact data or key in its logs."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.agents import AgentFactory
from harness.context_server import ContextServer
from harness.openai_stub import OpenAIStub
from harness.orchestrator import chat_body
from harness.procs import ServerProcess, free_port

PHONE = "51987654321"
EMAIL = "ana.torres@example.com"
TURNS = [
    f"Hola, soy Ana Torres, mi correo es {EMAIL} y mi número es +51 987 654 321",
    "Quiero reservar una mesa para 4 personas el sábado a las 8pm",
    "A nombre de Ana Torres, mi clave es {key} y mi teléfono 987-654-321",
    "Perfecto, muchas gracias, hasta luego",
]
CONFIG_VALUES = {
    "frase_saludo": "Bienvenida secreta al Rincón Zafiro",
    "objetivo_principal": "objetivo confidencial Zafiro",
    "token_interno": "valor-de-config-zafiro",
}


def forbidden(keys: dict[str, str]) -> list[str]:
    """Strings that must not appear in INFO+ logs."""
    return [
        PHONE,
        "987654321",
        "987 654 321",
        "987-654-321",
        EMAIL,
        "ana.torres",
        "Ana Torres",
        "mesa para 4 personas",
        "muchas gracias",
        "Rincón Zafiro",
        "confidencial Zafiro",
        "valor-de-config-zafiro",
        "Bearer",
        *keys.values(),
    ]


def run_conversation(
    tmp_path: Path, env: dict[str, str], keys: dict[str, str]
) -> tuple[str, list[dict[str, Any]]]:
    port = free_port()
    proc = ServerProcess.python_module(
        "uvicorn",
        "server.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        port,
        name=f"orquestador-privacy-{port}",
        log_dir=tmp_path,
        env=env,
        ready_url=f"http://127.0.0.1:{port}/health",
        ready_timeout=30,
    )
    replies: list[dict[str, Any]] = []
    with (
        proc,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False) as client,
    ):
        for i, text in enumerate(TURNS):
            headers = (
                {"X-API-Key": keys["chat"]}
                if i % 2 == 0
                else {"Authorization": f"Bearer {keys['chat']}"}
            )
            body = chat_body(text.format(key=keys["chat"]), PHONE, **CONFIG_VALUES)
            r = client.post("/api/agent/chat", json=body, headers=headers)
            assert r.status_code == 200, r.text
            replies.append(r.json())
        r = client.post(
            "/api/agent/chat",
            json=chat_body(TURNS[0], PHONE),
            headers={"X-API-Key": keys["wrong"]},
        )
        assert r.status_code == 401
        admin = {"X-API-Key": keys["admin"]}
        assert client.get("/memory/stats", headers=admin).status_code == 200
        assert client.post(f"/memory/clear/{PHONE}", headers=admin).status_code == 200
        assert client.get("/config", headers={"X-API-Key": keys["chat"]}).status_code == 403
    return proc.log_path.read_text(), replies


def json_lines(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("mode", ["offline", "model"])
def test_conversation_logs_are_private_at_info(
    tmp_path: Path,
    chat_agent: AgentFactory,
    openai_stub: OpenAIStub,
    context_server: ContextServer,
    mode: str,
) -> None:
    run = uuid.uuid4().hex
    keys = {
        "chat": f"chat-{run}",
        "admin": f"admin-{run}",
        "wrong": f"wrong-{run}",
        "openai": f"sk-test-{run}",
    }
    agent = chat_agent("reserva")
    agent.reset()
    context_server.set_context(12, f"Rincón Zafiro atiende a {EMAIL} y al {PHONE}.")
    env = {
        "API_KEYS": keys["chat"],
        "ADMIN_API_KEYS": keys["admin"],
        "LOG_LEVEL": "INFO",
        "CHECKPOINT_DB": str(tmp_path / "c.sqlite"),
        "SESSION_TTL_SECONDS": "0",
        "MCP_RESERVA_URL": agent.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "CONTEXTO_NEGOCIO_ENDPOINT": context_server.url,
        "LLM_MODE": "offline" if mode == "offline" else "openai",
    }
    if mode == "model":
        env.update(
            {
                "OPENAI_API_KEY": keys["openai"],
                "OPENAI_BASE_URL": openai_stub.base_url,
                "OPENAI_MAX_RETRIES": "0",
            }
        )
    log, replies = run_conversation(tmp_path, env, keys)
    # the conversation really ran: delegated to the MCP agent, which saw the text
    assert any(r["action"] == "delegate" and r["agent_used"] == "reserva" for r in replies)
    assert agent.chat_calls() and any("mesa" in c["message"] for c in agent.chat_calls())
    if mode == "model":
        assert openai_stub.request_count >= len(TURNS)
    lines = json_lines(log)
    assert any(line["message"] == "turn" for line in lines)
    assert all(line["level"] != "DEBUG" for line in lines)
    leaks = [word for word in forbidden(keys) if word in log]
    assert not leaks, (leaks, log[-3000:])
    turns = [line for line in lines if line["message"] == "turn"]
    assert len(turns) == len(TURNS) and all(
        set(line["extra_fields"]) >= {"session", "status"} for line in turns
    )
    # one line per turn: the HTTP clients' per-request lines (httpx, openai's httpx2) stay out
    clients = [line for line in lines if line["logger"].startswith(("httpx", "httpcore"))]
    assert not clients, clients[:2]


def test_debug_logs_may_show_text_but_mask_keys(
    tmp_path: Path, chat_agent: AgentFactory, openai_stub: OpenAIStub
) -> None:
    run = uuid.uuid4().hex
    keys = {
        "chat": f"chat-{run}",
        "admin": f"admin-{run}",
        "wrong": f"wrong-{run}",
        "openai": f"sk-test-{run}",
    }
    agent = chat_agent("reserva")
    env = {
        "API_KEYS": keys["chat"],
        "ADMIN_API_KEYS": keys["admin"],
        "LOG_LEVEL": "DEBUG",
        "CHECKPOINT_DB": str(tmp_path / "c.sqlite"),
        "SESSION_TTL_SECONDS": "0",
        "MCP_RESERVA_URL": agent.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "LLM_MODE": "openai",
        "OPENAI_API_KEY": keys["openai"],
        "OPENAI_BASE_URL": openai_stub.base_url,
        "OPENAI_MAX_RETRIES": "0",
    }
    log, _ = run_conversation(tmp_path, env, keys)
    assert any(line["level"] == "DEBUG" for line in json_lines(log))
    leaks = [name for name, key in keys.items() if key in log]
    assert not leaks, leaks


def test_formatter_masks_configured_secrets_at_every_level() -> None:
    import logging

    from server.observability.logging_config import OrchestratorJsonFormatter
    from server.security.secrets import secret_values
    from server.settings import Settings

    settings = Settings(
        _env_file=None,
        API_KEYS="k-chat-123456,short",
        ADMIN_API_KEYS="k-admin-999999",
        OPENAI_API_KEY="model-key-abcdef",
        DATABASE_URL="postgresql://u:pg-pass-777@db:5432/x",
        REDIS_URL="redis://:redis-pass-888@cache:6379/0",
    )
    secrets = secret_values(settings)
    assert set(secrets) == {
        "k-chat-123456",
        "short",
        "k-admin-999999",
        "model-key-abcdef",
        "pg-pass-777",
        "redis-pass-888",
    }
    formatter = OrchestratorJsonFormatter(secrets=secrets)
    for level in (logging.DEBUG, logging.INFO, logging.ERROR):
        record = logging.LogRecord(
            "x", level, __file__, 1, "key %s and %s", ("k-chat-123456", "redis-pass-888"), None
        )
        record.detail = {"nested": ["model-key-abcdef", "pg-pass-777 k-admin-999999"]}
        line = formatter.format(record)
        assert json.loads(line)["message"] == "key *** and ***"
        for secret in secrets[:1] + secrets[2:]:
            assert secret not in line, (level, secret)


def test_agent_error_text_is_not_logged_at_info() -> None:
    """An agent's error text may echo the user's message: only its type is logged at INFO+."""
    import logging

    from server.observability.logging_config import OrchestratorJsonFormatter

    formatter = OrchestratorJsonFormatter()
    echo = "1 validation error: input_value='Quiero reservar a nombre de Ana Torres'"
    for level, shown in ((logging.WARNING, False), (logging.DEBUG, True)):
        record = logging.LogRecord(
            "graph.nodes.agent", level, __file__, 1, "agent call failed", (), None
        )
        record.agent, record.error, record.reason = "reserva", "AgentCallError", echo
        line = json.loads(formatter.format(record))
        assert line["extra_fields"]["error"] == "AgentCallError"
        assert ("Ana Torres" in json.dumps(line)) is shown


def test_our_ids_are_never_taken_for_phone_numbers() -> None:
    """Error ids and session refs are random or hashed hex: one with 8+ digits in a row must
    still be findable in the logs (a 500's `(id: …)` is how support finds its line)."""
    import logging

    from server.observability.logging_config import OrchestratorJsonFormatter

    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "turn failed", (), None)
    record.error_id, record.session = "123456789ea7", "98765432101f"
    record.note = "llámame al 987654321"  # user-looking text in any other field is still masked
    fields = json.loads(OrchestratorJsonFormatter().format(record))["extra_fields"]
    assert fields["error_id"] == "123456789ea7" and fields["session"] == "98765432101f"
    assert "987654321" not in fields["note"]
