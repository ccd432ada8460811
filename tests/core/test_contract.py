"""The HTTP contract of api.md: exact 400 texts, no 422, shapes of every endpoint."""

from __future__ import annotations

import pytest

from harness.agents import AgentFactory
from harness.orchestrator import RunningApp, StartApp, chat_body


@pytest.fixture
def app(start_app: StartApp, chat_agent: AgentFactory) -> RunningApp:
    agent = chat_agent("reserva")
    agent.reset()
    return start_app(agents={"reserva": agent.url}, LLM_MODE="offline")


@pytest.mark.parametrize("message", ["", "   ", "\n\t"])
def test_blank_message_is_400_with_exact_text(app: RunningApp, message: str) -> None:
    r = app.chat(message)
    assert r.status_code == 400
    assert r.json() == {"detail": "El campo 'message' no puede estar vacío"}


@pytest.mark.parametrize("session_id", ["", "  "])
def test_blank_session_id_is_400_with_exact_text(app: RunningApp, session_id: str) -> None:
    r = app.chat("hola", session_id)
    assert r.status_code == 400
    assert r.json() == {"detail": "El campo 'session_id' no puede estar vacío"}


@pytest.mark.parametrize("value", [0, -3, "abc", None, 1.5, True, [], {}])
def test_bad_id_empresa_is_400_with_exact_text(app: RunningApp, value: object) -> None:
    r = app.chat("hola", id_empresa=value)
    assert r.status_code == 400
    assert r.json() == {"detail": "El campo 'config.id_empresa' debe ser un número mayor a 0"}


def test_missing_id_empresa_is_400_with_exact_text(app: RunningApp) -> None:
    body = chat_body("hola")
    del body["config"]["id_empresa"]
    r = app.client.post("/api/agent/chat", json=body)
    assert r.status_code == 400
    assert r.json() == {"detail": "El campo 'config.id_empresa' debe ser un número mayor a 0"}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("message"), "message"),
        (lambda b: b.pop("config"), "config"),
        (lambda b: b["config"].pop("nombre_bot"), "config.nombre_bot"),
        (lambda b: b.update(message=123), "message"),
        (lambda b: b.update(config="texto"), "config"),
        (lambda b: b["config"].update(slots="muchos"), "config.slots"),
        (lambda b: b["config"].update(agendar_usuario="quizás"), "config.agendar_usuario"),
        (lambda b: b.update(session_id=[1, 2]), "session_id"),
    ],
)
def test_malformed_bodies_are_400_naming_the_field(app: RunningApp, mutate, field: str) -> None:
    body = chat_body("hola")
    mutate(body)
    r = app.client.post("/api/agent/chat", json=body)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert f"'{field}'" in detail and "El campo" in detail


@pytest.mark.parametrize("raw", [b"{bad json", b"", b"[]", b"null", b"\xff\xfe\x00", b'"texto"'])
def test_broken_json_is_400_in_spanish(app: RunningApp, raw: bytes) -> None:
    r = app.post_raw(raw)
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert detail.startswith("El ") and "Traceback" not in detail and "pydantic" not in detail


def test_integer_session_id_is_echoed_as_an_integer_and_stored_as_its_digits(
    app: RunningApp,
) -> None:
    r = app.chat("hola", session_id=51987654321)
    assert r.status_code == 200
    assert r.json()["session_id"] == 51987654321
    assert app.chat("hola", session_id="51987654322").json()["session_id"] == "51987654322"
    stats = app.client.get("/memory/stats").json()
    assert stats["sessions"] == {"51987654321": 1, "51987654322": 1}


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("1", True),
        (1, True),
        (True, True),
        ("0", False),
        (0, False),
        (False, False),
        ("", None),
        ("null", None),
        (None, None),
    ],
)
def test_agendar_flags_and_extra_keys_reach_the_agent(
    app: RunningApp, chat_agent: AgentFactory, sent: object, expected: object
) -> None:
    agent = chat_agent("reserva")
    agent.reset()
    r = app.chat(
        "quiero reservar una mesa para 4",
        agendar_usuario=sent,
        agendar_sucursal=sent,
        canal="whatsapp",
        campo_nuevo={"a": 1},
    )
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "delegate"
    config = agent.chat_calls()[-1]["context"]["config"]
    assert config["agendar_usuario"] is expected and config["agendar_sucursal"] is expected
    assert config["canal"] == "whatsapp" and config["campo_nuevo"] == {"a": 1}


def test_response_shape_and_delegate_invariant(app: RunningApp) -> None:
    for message in ("hola", "quiero reservar una mesa para 2 mañana"):
        body = app.chat(message).json()
        assert set(body) == {"reply", "session_id", "agent_used", "action", "url"}
        assert (body["agent_used"] is None) == (body["action"] == "respond")
        assert body["reply"].strip()


def test_info_health_config_metrics_docs(app: RunningApp) -> None:
    root = app.client.get("/").json()
    assert root["service"] == "MaravIA Orquestador" and root["status"] == "running"
    assert root["version"] == "0.3.0" and isinstance(root["features"], list)
    for name in (
        "chat",
        "config",
        "health",
        "metrics",
        "memory_stats",
        "clear_memory",
        "docs",
        "redoc",
    ):
        assert name in root["endpoints"]
    assert app.client.get("/health").json() == {"status": "ok", "service": "orquestador"}
    config = app.client.get("/config").json()
    for key in (
        "mcp_reserva_url",
        "mcp_cita_url",
        "mcp_venta_url",
        "mcp_reserva_enabled",
        "openai_model",
    ):
        assert key in config
    assert "test-key" not in app.client.get("/config").text
    metrics = app.metrics()
    for key in (
        "requests_total",
        "requests_errors",
        "requests_delegate",
        "requests_respond",
        "latency_avg_ms",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
    ):
        assert key in metrics
    assert metrics["circuit_breakers"] == {"reserva": {"state": "closed", "failure_count": 0}}
    assert app.client.get("/docs").status_code == 200
    assert app.client.get("/redoc").status_code == 200
    assert "/api/agent/chat" in app.client.get("/openapi.json").json()["paths"]


def test_unknown_path_and_method_are_spanish_not_422(app: RunningApp) -> None:
    assert app.client.get("/no-existe").json() == {"detail": "Recurso no encontrado"}
    r = app.client.get("/api/agent/chat")
    assert r.status_code == 405 and r.json()["detail"] == "Método no permitido"


def test_openai_mode_without_key_is_the_spec_500(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="openai")
    r = app.chat("hola")
    assert r.status_code == 500
    assert r.json() == {"detail": "OPENAI_API_KEY no configurada"}
    assert app.client.get("/health").status_code == 200
