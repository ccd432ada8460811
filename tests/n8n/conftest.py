"""Fixtures for today's n8n flows: the four production-shaped HTTP agents, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.http_agent import HttpAgent


@pytest.fixture(scope="module")
def http_agents() -> Iterator[dict[str, HttpAgent]]:
    """The production agents of 2026 as HTTP test agents (flat: cita, venta; context: reserva,
    citas_ventas), shared by the module's tests."""
    agents = {
        "cita": HttpAgent("cita", "flat"),
        "venta": HttpAgent("venta", "flat"),
        "reserva": HttpAgent("reserva", "context"),
        "citas_ventas": HttpAgent("citas_ventas", "context"),
    }
    for agent in agents.values():
        agent.start()
    yield agents
    for agent in agents.values():
        agent.stop()


@pytest.fixture
def agents(http_agents: dict[str, HttpAgent]) -> dict[str, HttpAgent]:
    """The HTTP agents, their records and faults reset for this test."""
    for agent in http_agents.values():
        agent.state.reset()
    return http_agents
