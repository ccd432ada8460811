"""Fixtures for conversations per company: a production-shaped `cita` HTTP agent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.http_agent import HttpAgent


@pytest.fixture(scope="module")
def cita_agent_module() -> Iterator[HttpAgent]:
    """agente_citas as an HTTP test agent (flat body), shared by the module's tests."""
    agent = HttpAgent("cita", "flat")
    agent.start()
    yield agent
    agent.stop()


@pytest.fixture
def cita(cita_agent_module: HttpAgent) -> HttpAgent:
    """The `cita` agent, its records reset for this test."""
    cita_agent_module.state.reset()
    return cita_agent_module
