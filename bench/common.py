"""Shared bench plumbing: stub, agent, orchestrator and baseline processes, /proc reads, figures."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.workload import CONFIG
from harness import REPO_ROOT
from harness.procs import ServerProcess, free_port

RESULTS_DIR = REPO_ROOT / "bench" / "results"
LOG_DIR = RESULTS_DIR / "logs"
_T0 = time.monotonic()


def say(message: str) -> None:
    """A progress line with the seconds since the benchmarks started."""
    print(f"[{time.monotonic() - _T0:6.1f}s] {message}", flush=True)


@dataclass
class Service:
    """A server child process and where it answers."""

    name: str
    port: int
    process: ServerProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def stop(self) -> None:
        self.process.stop()


def _service(
    name: str,
    module: str,
    argv: list[object],
    *,
    port: int,
    ready_path: str,
    env: dict[str, str] | None = None,
    start: bool = True,
) -> Service:
    process = ServerProcess.python_module(
        module,
        *argv,
        name=f"{name}-{port}",
        log_dir=LOG_DIR,
        env=env,
        ready_url=f"http://127.0.0.1:{port}{ready_path}",
        ready_timeout=60,
    )
    service = Service(name, port, process)
    if start:
        process.start()
    return service


def start_all(*services: Service) -> None:
    """Spawn every (not yet started) service at once, then wait until each is ready."""
    try:
        for service in services:
            service.process.spawn()
        for service in services:
            service.process.wait_ready()
    except BaseException:
        for service in services:
            service.stop()
        raise


def start_stub(latency: float = 0.0, start: bool = True) -> Service:
    """The OpenAI-compatible stub (keyword router: 'reserv…' delegates to reserva)."""
    port = free_port()
    return _service(
        "openai-stub",
        "harness.openai_stub",
        ["--port", port, "--latency", latency],
        port=port,
        ready_path="/v1/models",
        start=start,
    )


def start_agent(name: str = "reserva", delay: float = 0.0, start: bool = True) -> Service:
    """The conversational test MCP agent (GET /stats counts HTTP requests and JSON-RPC methods)."""
    port = free_port()
    return _service(
        f"agent-{name}",
        "harness.chat_agent",
        ["--port", port, "--name", name, "--delay", delay],
        port=port,
        ready_path="/health",
        start=start,
    )


def start_helpers() -> tuple[Service, Service]:
    """The zero-latency stub and the reserva agent, started together."""
    stub, agent = start_stub(start=False), start_agent("reserva", start=False)
    start_all(stub, agent)
    return stub, agent


def orchestrator_env(
    stub: Service | None, agent: Service | None, db_dir: Path, **overrides: object
) -> dict[str, str]:
    """The orchestrator's environment for a benchmark: one agent (reserva), no limits, SQLite."""
    env: dict[str, object] = {
        "LLM_MODE": "openai" if stub else "offline",
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": f"{stub.url}/v1" if stub else "",
        "MCP_RESERVA_ENABLED": "true" if agent else "false",
        "MCP_RESERVA_URL": f"{agent.url}/mcp" if agent else "http://127.0.0.1:9/mcp",
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "RATE_LIMIT_PER_MINUTE": "0",
        "SESSION_RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "INFO",
        "CHECKPOINT_DB": str(db_dir / "checkpoints.sqlite"),
        "DATABASE_URL": "",
        "CONTEXTO_NEGOCIO_ENDPOINT": "",
        "API_KEYS": "",
        "ADMIN_API_KEYS": "",
        "REDIS_URL": "",
        "LANGSMITH_TRACING": "false",
    }
    env.update(overrides)
    return {key: str(value) for key, value in env.items()}


def orchestrator_process(
    env: dict[str, str], port: int | None = None, name: str = "orchestrator"
) -> Service:
    """The orchestrator as deployed (Dockerfile's uvicorn command), not started yet."""
    port = port or free_port()
    return _service(
        name,
        "uvicorn",
        [
            "server.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--no-server-header",
            "--timeout-graceful-shutdown",
            "10",
        ],
        port=port,
        ready_path="/health",
        env=env,
        start=False,
    )


def start_baseline(stub: Service, agent: Service, start: bool = True) -> Service:
    """bench/baseline_app.py under uvicorn: the same two stub calls, no graph, no checkpointer."""
    port = free_port()
    env = {
        "OPENAI_API_KEY": "test",
        "OPENAI_BASE_URL": f"{stub.url}/v1",
        "MCP_RESERVA_URL": f"{agent.url}/mcp",
    }
    return _service(
        "baseline",
        "uvicorn",
        [
            "bench.baseline_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--no-server-header",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        port=port,
        ready_path="/health",
        env=env,
        start=start,
    )


def warm_chat(url: str, session_id: str, message: str, timeout: float = 30.0) -> dict[str, Any]:
    """POST one chat turn, retrying until it answers 200 (agents may still be connecting)."""
    deadline = time.monotonic() + timeout
    last: object = None
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
        while time.monotonic() < deadline:
            try:
                r = client.post(
                    "/api/agent/chat",
                    json={"message": message, "session_id": session_id, "config": CONFIG},
                )
                if r.status_code == 200:
                    return r.json()
                last = f"HTTP {r.status_code}: {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.05)
    raise RuntimeError(f"no answered turn from {url} in {timeout}s (last: {last!r})")


# -- /proc readings ---------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds a process (all its threads), or one of its threads, has used."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_facts() -> dict[str, str]:
    """nproc, CPU model, memory and Python version."""
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": mem,
        "python": sys.version.split()[0],
    }


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory for databases, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- figures ----------------------------------------------------------------------------------
@dataclass
class Figure:
    """One reported number with its target (met is None when there is no target)."""

    bench: str
    label: str
    value: float | None
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    def value_text(self) -> str:
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "n/a"
        v = self.value
        if isinstance(v, int):
            return f"{v} {self.unit}".strip()
        text = f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
        return f"{text} {self.unit}".strip()

    def met_text(self) -> str:
        return "—" if self.met is None else "yes" if self.met else "NO"


def check(value: float | None, limit: float, *, at_most: bool = True) -> bool | None:
    """Whether value meets a ≤ (or ≥) limit; None when there is no value."""
    if value is None or math.isnan(value):
        return None
    return value <= limit if at_most else value >= limit


def markdown_table(figures: list[Figure]) -> str:
    """The figures as a Markdown table (benchmark, figure, value, target, met?)."""
    rows = ["| benchmark | figure | value | target | met? |", "|---|---|---|---|---|"]
    for f in figures:
        label = f"{f.label} ({f.note})" if f.note else f.label
        rows.append(
            f"| {f.bench} | {label} | {f.value_text()} | {f.target or '—'} | {f.met_text()} |"
        )
    return "\n".join(rows)


def summary_line(name: str, figures: list[Figure]) -> str:
    """'SUMMARY name: 3/4 targets met; …' with the key figures."""
    targets = [f for f in figures if f.met is not None]
    met = sum(1 for f in targets if f.met)
    key = "; ".join(f"{f.label} {f.value_text()}" for f in figures if f.target)
    return f"SUMMARY {name}: {met}/{len(targets)} targets met; {key}"


def pick(scale: str, quick: Any, default: Any, full: Any) -> Any:
    """The value for this scale."""
    return {"quick": quick, "default": default, "full": full}[scale]


def scale_args(parser: argparse.ArgumentParser) -> None:
    """--quick / --full (default: the ~5-minute sizes)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--quick",
        action="store_const",
        dest="scale",
        const="quick",
        help="about a minute for all benchmarks (small samples)",
    )
    group.add_argument(
        "--full",
        action="store_const",
        dest="scale",
        const="full",
        help="the issue's sizes (10,000 sessions, 3,000 turns; ~10 minutes)",
    )
    parser.set_defaults(scale="default")


def bench_main(
    name: str, run: Callable[[str], list[Figure]], argv: list[str] | None = None
) -> list[Figure]:
    """The command line of one benchmark script: run it, print its table and summary line."""
    parser = argparse.ArgumentParser(description=f"benchmark: {name}")
    scale_args(parser)
    args = parser.parse_args(argv)
    figures = run(args.scale)
    print()
    print(markdown_table(figures))
    print(summary_line(name, figures))
    return figures
