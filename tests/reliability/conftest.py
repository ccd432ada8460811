"""Fixtures of the reliability tests: the hostile echo agent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.agents import AgentFactory


@pytest.fixture(scope="module")
def echo_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentFactory]:
    """Factory of agents that reply with any text the message spells (see harness.echo_agent)."""
    factory = AgentFactory("echo", tmp_path_factory.mktemp("echo-agents"))
    yield factory
    factory.stop_all()
