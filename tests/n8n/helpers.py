"""Helpers for today's n8n body: the body builder, SSE reading, the HTTP agents' settings."""

from __future__ import annotations

import json
from typing import Any

from harness.http_agent import HttpAgent
from harness.orchestrator import RunningApp

SESSION = 51987654321
"""A phone-like integer session id, as n8n sends it today."""
COMPANY = 7


def today_body(
    message: str,
    session_id: Any = SESSION,
    *,
    id_empresa: Any = COMPANY,
    api_key: str | None = None,
    **config: Any,
) -> dict[str, Any]:
    """Today's n8n body: top-level id_empresa and api_key, no rol_bot/tipo_bot/objetivo."""
    cfg: dict[str, Any] = {
        "nombre_bot": "Valeria",
        "modalidad": "Citas",
        "frase_saludo": "¡Hola! Soy Valeria",
        "frase_no_sabe": "Déjame consultarlo con el equipo.",
        "duracion_cita_minutos": 30,
        "agendar_usuario": 1,
        "agendar_sucursal": "0",
        "usuario_id": 5,
        "id_chatbot": 9,
    }
    cfg.update(config)
    body: dict[str, Any] = {"message": message, "session_id": session_id, "config": cfg}
    if id_empresa is not None:
        body["id_empresa"] = id_empresa
    if api_key is not None:
        body["api_key"] = api_key
    return body


def post(app: RunningApp, body: dict[str, Any]) -> Any:
    """POST /api/agent/chat with a JSON body; the response."""
    return app.client.post("/api/agent/chat", json=body)


def read_events(app: RunningApp, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The Server-Sent Events of one /chat/stream turn, as (name, data)."""
    events, name = [], None
    with app.client.stream("POST", "/api/agent/chat/stream", json=body) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line.split(":", 1)[1])))
                name = None
    return events


def agent_env(agents: dict[str, HttpAgent]) -> dict[str, Any]:
    """AGENT_* settings declaring exactly these HTTP agents, with their body shapes."""
    env: dict[str, Any] = {}
    for name, agent in agents.items():
        key = name.upper()
        env[f"AGENT_{key}_URL"] = agent.url
        env[f"AGENT_{key}_BODY"] = agent.shape
    return env
