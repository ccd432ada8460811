"""MAX_AGENT_RESPONSE_BYTES (issue 21): a 50 MB agent body is not read; the orchestrator's memory
(its own process, measured from /proc) does not grow with it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.orchestrator import OrchestratorProcess, chat_body
from harness.procs import ServerProcess, free_port
from tests.agents_http.conftest import FALLBACK

BODY_BYTES = 50_000_000
MB = 1024 * 1024


def status_kb(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in kB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture
def big_agent(tmp_path: Path) -> Iterator[str]:
    """An HTTP agent in its own process whose every reply is a 50 MB JSON body."""
    port = free_port()
    agent = ServerProcess.python_module(
        "harness.http_agent",
        *("--port", port, "--name", "cita", "--reply-bytes", BODY_BYTES),
        name=f"big-agent-{port}",
        log_dir=tmp_path,
        ready_url=f"http://127.0.0.1:{port}/health",
    )
    with agent:
        yield f"http://127.0.0.1:{port}/api/chat"


def test_a_50_mb_agent_body_is_a_fallback_without_the_memory(
    tmp_path: Path, big_agent: str
) -> None:
    app = OrchestratorProcess(
        tmp_path,
        {
            "LLM_MODE": "offline",
            "CHECKPOINT_DB": str(tmp_path / "checkpoints.sqlite"),
            "AGENT_CITA_URL": big_agent,
            "AGENT_MAX_RETRIES": "3",
        },
    ).start()
    try:
        pid = app.process.pid
        assert pid is not None
        warm = app.client.post("/api/agent/chat", json=chat_body("hola", "w0"))
        assert warm.status_code == 200
        before = status_kb(pid, "VmRSS")
        with contextlib.suppress(OSError):  # reset the peak so VmHWM is this turn's
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        r = app.client.post(
            "/api/agent/chat", json=chat_body("quiero agendar una cita", "b1", modalidad="Citas")
        )
        peak = status_kb(pid, "VmHWM")
        assert r.status_code == 200 and r.json()["reply"] == FALLBACK
        assert (peak - before) * 1024 < 100 * MB, (before, peak)
        prom = app.client.get("/metrics/prometheus").text
        assert 'orquestador_agent_failures_total{agent="cita",reason="too_large"} 1.0' in prom
    finally:
        app.close()
