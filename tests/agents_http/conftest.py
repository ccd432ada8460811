"""Fixtures: four plain-HTTP agents shaped like the production agents, and the AGENT_* roster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from harness.agents import AgentFactory, AgentHandle
from harness.http_agent import HttpAgent

TOKEN = "tok-interno-cita-123"
"""agente_citas's INTERNAL_API_TOKEN in these tests."""
SOPORTE = "soporte técnico: garantías, reparaciones y fallas de equipos"
"""The description of the fifth agent (MCP), a name the offline router has no words for."""
FALLBACK = "Déjame consultarlo con el equipo y te confirmo en breve."
"""The demo bot's frase_no_sabe: the fallback phrase of a failed agent turn."""


@dataclass
class ProductionAgents:
    """The four production agents of 2026, as real FastAPI servers on loopback ports."""

    cita: HttpAgent
    """agente_citas 2.5: POST /api/chat, flat body, X-Internal-Token checked."""
    venta: HttpAgent
    """agente_ventes 2.5: POST /api/chat, flat body."""
    citas_ventas: HttpAgent
    """agente_citas_ventas 2.0: POST /api/chat, context body."""
    reserva: HttpAgent
    """agente_reserva 3.0: POST /chat, context body."""

    def all(self) -> tuple[HttpAgent, ...]:
        return (self.cita, self.venta, self.citas_ventas, self.reserva)

    def reset(self) -> None:
        for agent in self.all():
            agent.state.reset()

    def settings(self) -> dict[str, Any]:
        """The AGENT_* variables declaring the four (as a deployment's .env would)."""
        return {
            "AGENT_CITA_URL": self.cita.url,
            "AGENT_CITA_TOKEN": TOKEN,
            "AGENT_VENTA_URL": self.venta.url,
            "AGENT_VENTA_PROTOCOL": "http",
            "AGENT_CITAS_VENTAS_URL": self.citas_ventas.url,
            "AGENT_CITAS_VENTAS_BODY": "context",
            "AGENT_RESERVA_URL": self.reserva.url,
            "AGENT_RESERVA_BODY": "context",
        }


@pytest.fixture(scope="module")
def production_agents_module() -> Iterator[ProductionAgents]:
    """The four HTTP agents, started once per module (prefer `production_agents`)."""
    agents = ProductionAgents(
        cita=HttpAgent("cita", "flat", token=TOKEN),
        venta=HttpAgent("venta", "flat"),
        citas_ventas=HttpAgent("citas_ventas", "context"),
        reserva=HttpAgent("reserva", "context"),
    )
    started = []
    try:
        for agent in agents.all():
            started.append(agent.start())
        yield agents
    finally:
        for agent in started:
            agent.stop()


@pytest.fixture
def production_agents(production_agents_module: ProductionAgents) -> ProductionAgents:
    """The four HTTP agents with empty records and no faults."""
    production_agents_module.reset()
    return production_agents_module


@pytest.fixture
def soporte(chat_agent: AgentFactory) -> AgentHandle:
    """The fifth agent: an MCP conversational agent whose name the project does not know."""
    return chat_agent("soporte", session_id_type="int")


@pytest.fixture
def five_agents(production_agents: ProductionAgents, soporte: AgentHandle) -> dict[str, Any]:
    """AGENT_* settings of a five-agent roster (four HTTP, one MCP) and nothing else."""
    return {
        **production_agents.settings(),
        "AGENT_SOPORTE_URL": soporte.url,
        "AGENT_SOPORTE_DESCRIPTION": SOPORTE,
    }
