"""`make run` (scripts/run_stack.py) with moved ports: two stacks on one machine, each
orchestrator answering /health and reaching its own agents; a third on taken ports refuses at
once, naming the variable."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.procs import free_port
from scripts.demo_config import LIMA

REPO = Path(__file__).resolve().parents[2]
VARIABLES = ("PORT", "VENTA_PORT", "CITA_PORT", "RESERVA_PORT", "CONTEXTO_PORT")


def stack_env(tmp: Path, ports: dict[str, int]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MCP_")}
    env.update({key: str(port) for key, port in ports.items()})
    env.update({"DATA_DIR": str(tmp), "LLM_MODE": "offline", "HOST": "127.0.0.1"})
    return env


def start(tmp: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    tmp.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.run_stack"],
        cwd=REPO,
        env=stack_env(tmp, ports),
        stdout=(tmp / "stack.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with all its children
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> dict:
    """/ready (200: storage writable) once every agent is reachable; its body."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            ready = httpx.get(f"{base}/ready", timeout=5)
            body = ready.json()
            if ready.status_code == 200 and all(a == "ok" for a in body["agents"].values()):
                return body
        except (httpx.HTTPError, ValueError, KeyError, AttributeError):
            pass
        time.sleep(0.5)
    raise AssertionError(log.read_text())


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[tuple[dict[str, int], subprocess.Popen[bytes]]]]:
    started = []
    try:
        for name in ("a", "b"):
            ports = {variable: free_port() for variable in VARIABLES}
            started.append((ports, start(tmp_path / name, ports)))
        yield started
    finally:
        for _, proc in started:
            stop(proc)


def test_two_stacks_on_one_machine_each_with_its_own_agents(
    stacks: list[tuple[dict[str, int], subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    for (ports, proc), name in zip(stacks, ("a", "b"), strict=True):
        base = f"http://127.0.0.1:{ports['PORT']}"
        wait_ready(base, proc, tmp_path / name / "stack.log")
        assert httpx.get(f"{base}/health").status_code == 200
        config = httpx.get(f"{base}/config").json()
        for agent in ("venta", "cita", "reserva"):
            assert config["agents"][agent]["url"] == (
                f"http://127.0.0.1:{ports[agent.upper() + '_PORT']}/mcp"
            )
        assert config["checkpoint_db"] == str(tmp_path / name / "checkpoints.sqlite")
    # the demo plays against the first stack (PORT, DATA_DIR) with today's date: the booking
    # "para el sábado" lands on the coming Saturday, not on one in the past
    (ports, _), folder = stacks[0], tmp_path / "a"
    demo = subprocess.run(
        [sys.executable, "-m", "scripts.demo"],
        cwd=REPO,
        env=stack_env(folder, ports),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert f"with http://localhost:{ports['PORT']}" in demo.stdout
    (stored,) = [line for line in demo.stdout.splitlines() if line.startswith("Stored booking")]
    assert str(folder / "reserva.sqlite") in stored
    found = re.search(r"'(\d{4}-\d{2}-\d{2})'", stored)
    assert found is not None, stored
    booked = dt.date.fromisoformat(found.group(1))
    today = dt.datetime.now(LIMA).date()
    assert booked.weekday() == 5 and 0 <= (booked - today).days <= 7
    # a third stack on the first one's ports refuses before starting anything
    third = tmp_path / "c"
    proc = start(third, stacks[0][0])
    try:
        assert proc.wait(timeout=60) == 1
    finally:
        stop(proc)
    log = (third / "stack.log").read_text()
    assert "port in use: " in log and f"PORT={stacks[0][0]['PORT']}" in log
    assert "starting" not in log
