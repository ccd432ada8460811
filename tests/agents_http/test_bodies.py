"""What the agents receive: exact bodies and headers, integer session ids, `url`, request ids."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import httpx
import pytest

from harness.agents import AgentHandle
from harness.orchestrator import RunningApp, StartApp, chat_body
from tests.agents_http.conftest import TOKEN, ProductionAgents

TODAY: dict[str, Any] = {
    "message": "Quiero una cita para mañana",
    "session_id": 51987654321,
    "id_empresa": 7,
    "api_key": "sk-empresa-7-abcdef",
    "config": {
        "nombre_bot": "Valeria",
        "modalidad": "Citas",
        "frase_saludo": "¡Hola! Soy Valeria",
        "archivo_saludo": "https://cdn.example.com/bienvenida.jpg",
        "personalidad": "amable",
        "duracion_cita_minutos": 30,
        "slots": 2,
        "agendar_usuario": 1,
        "agendar_sucursal": "0",
        "usuario_id": 5,
        "id_chatbot": 9,
    },
}
"""The request n8n sends today (../shared/spec/agents-today.md)."""

V02: dict[str, Any] = {
    "message": "Quiero reservar una mesa para 4",
    "session_id": "user-abc",
    "config": {
        "nombre_bot": "Valeria",
        "id_empresa": 7,
        "rol_bot": "asistente",
        "tipo_bot": "restaurante",
        "objetivo_principal": "reservas",
        "modalidad": "Reservas",
        "canal": "web",
    },
}
"""A first-generation (v0.2) request from a web chat: a text session id, an extra config key."""

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


def derived(session_id: str) -> int:
    """The documented derivation of a non-numeric id: 2^52 + (SHA-256's first 8 bytes mod 2^52)."""
    digest = hashlib.sha256(session_id.encode()).digest()
    return 2**52 + int.from_bytes(digest[:8], "big") % 2**52


def x_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("x-")}


@pytest.fixture
def app(start_app: StartApp, five_agents: dict[str, Any]) -> Any:
    """The orchestrator in front of the five agents, routing offline."""
    return start_app(LLM_MODE="offline", **five_agents)


def test_the_test_agents_are_as_strict_as_the_production_ones(
    production_agents: ProductionAgents,
) -> None:
    body = {"message": "hola", "session_id": "user-abc", "context": {"config": {}}}
    r = httpx.post(production_agents.reserva.url, json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "session_id"]
    flat = {"message": "hola", "session_id": 5, "id_empresa": 7, "api_key": "k", "config": None}
    r = httpx.post(production_agents.cita.url, json=flat)
    assert (r.status_code, r.json()) == (401, {"detail": "Unauthorized"})
    r = httpx.post(production_agents.cita.url, json=flat, headers={"X-Internal-Token": TOKEN})
    assert r.status_code == 200
    assert production_agents.reserva.url.endswith(f":{production_agents.reserva.server.port}/chat")


def test_flat_body_and_headers_for_todays_request(
    app: RunningApp, production_agents: ProductionAgents
) -> None:
    r = app.client.post("/api/agent/chat", json=TODAY, headers={"X-Request-ID": "n8n-7.exec_42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "n8n-7.exec_42"
    assert r.json() == {
        "reply": "[cita] recibido: Quiero una cita para mañana (turno 1)",
        "session_id": 51987654321,
        "agent_used": "cita",
        "action": "delegate",
        "url": None,
    }
    cita = production_agents.cita
    assert cita.last_json() == {
        "message": "Quiero una cita para mañana",
        "session_id": 51987654321,
        "id_empresa": 7,
        "api_key": "sk-empresa-7-abcdef",
        "config": {
            "nombre_bot": "Valeria",
            "frase_saludo": "¡Hola! Soy Valeria",
            "archivo_saludo": "https://cdn.example.com/bienvenida.jpg",
            "personalidad": "amable",
            "modalidad": "Citas",
            "duracion_cita_minutos": 30,
            "slots": 2,
            "agendar_usuario": True,
            "agendar_sucursal": False,
            "usuario_id": 5,
            "id_chatbot": 9,
            "id_empresa": 7,
        },
    }
    headers = cita.last_headers()
    assert x_headers(headers) == {"x-request-id": "n8n-7.exec_42", "x-internal-token": TOKEN}
    assert headers["content-type"] == "application/json"
    assert cita.calls[-1]["body"]["session_id"] == 51987654321  # validated as `int`
    # agents that were not asked got nothing; an agent without a token gets no token header
    assert [len(a.calls) for a in production_agents.all()] == [1, 0, 0, 0]
    venta_turn = {**TODAY, "config": {**TODAY["config"], "modalidad": "Ventas"}}
    app.client.post("/api/agent/chat", json={**venta_turn, "message": "precio del plan"})
    assert "x-internal-token" not in production_agents.venta.last_headers()
    assert production_agents.venta.last_json()["api_key"] == "sk-empresa-7-abcdef"


def test_context_body_and_headers_for_a_first_generation_request(
    app: RunningApp, production_agents: ProductionAgents
) -> None:
    r = app.client.post("/api/agent/chat", json=V02)
    assert r.status_code == 200 and r.json()["agent_used"] == "reserva"
    assert r.json()["session_id"] == "user-abc"
    reserva = production_agents.reserva
    assert reserva.last_json() == {
        "message": "Quiero reservar una mesa para 4",
        "session_id": derived("user-abc"),
        "context": {
            "config": {
                "nombre_bot": "Valeria",
                "id_empresa": 7,
                "rol_bot": "asistente",
                "tipo_bot": "restaurante",
                "objetivo_principal": "reservas",
                "modalidad": "Reservas",
                "canal": "web",
            }
        },
    }
    sent_id = reserva.last_headers()["x-request-id"]
    assert GENERATED_ID.match(sent_id) and r.headers["x-request-id"] == sent_id
    assert x_headers(reserva.last_headers()) == {"x-request-id": sent_id}
    # the same shape for agente_citas_ventas (context body on /api/chat); the company's key,
    # when sent, is not part of the context shape
    body = {**V02, "api_key": "sk-empresa-7-abcdef", "message": "quiero una cita"}
    body["config"] = {**V02["config"], "modalidad": "Citas y Ventas"}
    assert app.client.post("/api/agent/chat", json=body).json()["agent_used"] == "citas_ventas"
    sent = production_agents.citas_ventas.last_json()
    assert set(sent) == {"message", "session_id", "context"} and set(sent["context"]) == {"config"}
    assert "sk-empresa" not in json.dumps(sent)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("51987654321", 51987654321),
        (51987654322, 51987654322),  # n8n's JSON number
        ("7", 7),
        ("user-abc", derived("user-abc")),
        ("051987654321", derived("051987654321")),  # a leading zero is another conversation
        ("+51987654321", derived("+51987654321")),
        ("sesión-ñ", derived("sesión-ñ")),
    ],
)
def test_the_integer_session_id_each_agent_receives(
    app: RunningApp,
    production_agents: ProductionAgents,
    soporte: AgentHandle,
    sent: Any,
    expected: int,
) -> None:
    body = chat_body("quiero reservar una mesa", sent, modalidad="Reservas")
    assert app.client.post("/api/agent/chat", json=body).json()["agent_used"] == "reserva"
    assert production_agents.reserva.last_json()["session_id"] == expected
    assert 0 < expected < 2**53
    body = chat_body("mi equipo tiene una falla, necesito una reparación", sent)
    assert app.client.post("/api/agent/chat", json=body).json()["agent_used"] == "soporte"
    call = soporte.chat_calls()[-1]  # an MCP tool that declares `session_id: int`
    assert (call["session_id"], call["session_id_type"]) == (expected, "int")
    assert call["context"]["session_id"] == str(sent)


def test_leading_zeros_and_text_ids_are_different_conversations(
    app: RunningApp, production_agents: ProductionAgents
) -> None:
    ids = ["51987654321", "051987654321", "0051987654321", "user-abc", "user-abd"]
    for session_id in ids:
        app.chat("quiero reservar una mesa", session_id, modalidad="Reservas")
    sent = [call["json"]["session_id"] for call in production_agents.reserva.calls]
    assert len(set(sent)) == len(ids)
    assert all(value >= 2**52 for value in sent[1:])  # above every phone-sized number


def test_url_on_the_turn_it_came_and_null_after(
    app: RunningApp, production_agents: ProductionAgents
) -> None:
    reserva = production_agents.reserva
    reserva.state.url = "https://cdn.example.com/carta.pdf"
    first = app.chat("quiero reservar una mesa", "u1", modalidad="Reservas").json()
    assert (first["agent_used"], first["url"]) == ("reserva", "https://cdn.example.com/carta.pdf")
    reserva.state.url = None
    second = app.chat("para el sábado a las 8", "u1", modalidad="Reservas").json()
    assert (second["agent_used"], second["url"]) == ("reserva", None)
    third = app.chat("hola", "u1", modalidad="Reservas").json()
    assert (third["action"], third["url"]) == ("respond", None)
    # the stream's `done` event carries it too
    reserva.state.url = "https://cdn.example.com/mesa.jpg"
    events = []
    body = chat_body("quiero reservar otra mesa", "u2", modalidad="Reservas")
    with app.client.stream("POST", "/api/agent/chat/stream", json=body) as response:
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line.split(":", 1)[1])))
    done = [data for name, data in events if name == "done"]
    assert done and done[0]["url"] == "https://cdn.example.com/mesa.jpg"


def _log_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("n8n-exec.4711_a", True),
        ("A" * 128, True),
        (None, False),
        ("A" * 129, False),
        ("id con espacios", False),
        ("id/../x", False),
        ("", False),
    ],
)
def test_request_id_from_client_to_agent_to_log_to_response(
    start_app: StartApp,
    production_agents: ProductionAgents,
    soporte: AgentHandle,
    five_agents: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    sent: str | None,
    kept: bool,
) -> None:
    app = start_app(LLM_MODE="offline", **five_agents)
    capsys.readouterr()
    headers = {} if sent is None else {"X-Request-ID": sent}
    body = chat_body("quiero agendar una cita", "51900000001", modalidad="Citas")
    r = app.client.post("/api/agent/chat", json=body, headers=headers)
    request_id = r.headers["x-request-id"]
    assert request_id == sent if kept else GENERATED_ID.match(request_id)
    assert production_agents.cita.last_headers()["x-request-id"] == request_id
    turn = [line for line in _log_lines(capsys.readouterr().out) if line["message"] == "turn"]
    assert [line["extra_fields"]["request_id"] for line in turn] == [request_id]
    # an MCP agent gets it in context.request_id
    body = chat_body("mi equipo tiene una falla, necesito una reparación", "51900000001")
    r = app.client.post("/api/agent/chat", json=body, headers=headers)
    assert soporte.chat_calls()[-1]["context"]["request_id"] == r.headers["x-request-id"]
    if not kept:
        assert r.headers["x-request-id"] != request_id  # a new id for every turn


def test_every_log_line_of_a_failed_turn_carries_its_request_id(
    start_app: StartApp,
    production_agents: ProductionAgents,
    five_agents: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = start_app(LLM_MODE="offline", **five_agents)  # logging to this test's stdout
    capsys.readouterr()
    production_agents.cita.state.statuses.append(500)
    headers = {"X-Request-ID": "fallo-1"}
    body = chat_body("quiero agendar una cita", "51900000002", modalidad="Citas")
    assert app.client.post("/api/agent/chat", json=body, headers=headers).status_code == 200
    lines = [line for line in _log_lines(capsys.readouterr().out) if line["level"] != "DEBUG"]
    messages = {line["message"] for line in lines}
    assert {"agent call failed", "turn"} <= messages
    for line in lines:
        assert line["extra_fields"].get("request_id") == "fallo-1", line
