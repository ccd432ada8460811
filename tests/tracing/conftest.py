"""Fixtures for the tracing tests: the recording LangSmith endpoint and a running orchestrator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.orchestrator import RunningApp, orchestrator_settings
from tests.tracing.recorder import LangSmithRecorder


@pytest.fixture(scope="module")
def recorder_server() -> Iterator[LangSmithRecorder]:
    with LangSmithRecorder() as recorder:
        yield recorder


@pytest.fixture
def recorder(recorder_server: LangSmithRecorder) -> LangSmithRecorder:
    """The recording endpoint, emptied for this test."""
    recorder_server.reset()
    return recorder_server


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[..., RunningApp]]:
    """start_app(agents={"reserva": url}, **SETTINGS) -> a running orchestrator (stopped after)."""
    running: list[RunningApp] = []

    def start(agents: dict[str, str] | None = None, **overrides: Any) -> RunningApp:
        app = RunningApp(orchestrator_settings(tmp_path, agents, **overrides)).start()
        running.append(app)
        return app

    yield start
    for app in running:
        app.stop()
