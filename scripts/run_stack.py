"""`make run`: the three reference agents, the business-context demo and the orchestrator."""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from graph.agents.roster import KNOWN_AGENTS, REFERENCE_AGENTS

COLORS = {"contexto": "34", "orquestador": "32", "studio": "32"}
AGENT_COLORS = ("35", "36", "33", "31", "37")  # the reference agents, in the roster's order


@dataclass
class Service:
    """One child process and where it answers when ready."""

    name: str
    argv: list[str]
    health: str
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] | None = None


def _prefix(name: str) -> str:
    tag = f"[{name}]".ljust(14)
    color = COLORS.get(name)
    if color is None and name in REFERENCE_AGENTS:
        color = AGENT_COLORS[REFERENCE_AGENTS.index(name) % len(AGENT_COLORS)]
    return f"\033[{color or '0'}m{tag}\033[0m" if sys.stdout.isatty() else tag


def _pump(service: Service) -> None:
    assert service.proc is not None and service.proc.stdout is not None
    for line in service.proc.stdout:
        sys.stdout.write(f"{_prefix(service.name)} {line}")
        sys.stdout.flush()


def _wait_healthy(service: Service, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.proc is not None and service.proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(service.health, timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def _playground_line(base: str) -> str:
    """Where the playground page is, or that it is turned off (PLAYGROUND_ENABLED=false)."""
    url = f"{base}/playground"
    try:
        with urllib.request.urlopen(url.replace("localhost", "127.0.0.1"), timeout=2):
            return f"playground: {url} (chat with a bot configuration in the browser)"
    except OSError:
        return "playground: off (PLAYGROUND_ENABLED=false)"


def services(studio_port: str | None = None) -> list[Service]:
    """What `make run` starts (with `studio_port`: `langgraph dev` instead of the server);
    the server's host and port can be changed through the environment."""
    py = sys.executable
    host = os.environ.get("HOST", "0.0.0.0")
    port = os.environ.get("PORT", "8000")
    agents = [
        Service(
            name,
            [py, "-m", f"mcp_agents.{name}"],
            f"http://127.0.0.1:{KNOWN_AGENTS[name].port}/health",
        )
        for name in REFERENCE_AGENTS
    ]
    contexto = Service(
        "contexto", [py, "-m", "mcp_agents.contexto"], "http://127.0.0.1:8004/health"
    )
    orchestrator = Service(
        "orquestador",
        [py, "-m", "uvicorn", "server.main:app", "--host", host, "--port", port, "--workers", "1"],
        f"http://127.0.0.1:{port}/health",
        env={
            "CONTEXTO_NEGOCIO_ENDPOINT": os.environ.get(
                "CONTEXTO_NEGOCIO_ENDPOINT", "http://127.0.0.1:8004/"
            )
        },
    )
    if studio_port is not None:
        studio = Service(
            "studio",
            [py, "-m", "langgraph_cli", "dev", "--config", "langgraph.json"]
            + ["--host", "127.0.0.1", "--port", studio_port, "--no-browser"],
            f"http://127.0.0.1:{studio_port}/ok",
            env={**orchestrator.env, "LANGGRAPH_CLI_NO_ANALYTICS": "1"},
        )
        return [*agents, contexto, studio]
    return [*agents, contexto, orchestrator]


def _supervise(running: list[Service], stop_all: Callable[[], None]) -> int:
    """Wait until one service exits, then stop the rest."""
    while all(s.proc and s.proc.poll() is None for s in running):
        time.sleep(0.5)
    dead = [s.name for s in running if s.proc and s.proc.poll() is not None]
    print(f"{_prefix('make run')} {', '.join(dead)} exited; stopping the rest", flush=True)
    stop_all()
    return 1


def main() -> int:
    """Start everything in order, relay prefixed logs, stop all on Ctrl-C or when one dies.

    `--studio PORT` starts LangGraph Studio's dev server on PORT instead of the orchestrator."""
    args = sys.argv[1:]
    studio_port = args[args.index("--studio") + 1] if "--studio" in args else None
    os.makedirs("data", exist_ok=True)
    running: list[Service] = []

    def stop_all(*_: object) -> None:
        for service in reversed(running):
            if service.proc and service.proc.poll() is None:
                service.proc.terminate()
        for service in running:
            if service.proc:
                try:
                    service.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    service.proc.kill()

    def on_sigterm(*_: object) -> None:
        stop_all()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        for service in services(studio_port):
            print(
                f"{_prefix('make run')} starting {service.name}: {' '.join(service.argv[1:])}",
                flush=True,
            )
            service.proc = subprocess.Popen(
                service.argv,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **service.env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            running.append(service)
            threading.Thread(target=_pump, args=(service,), daemon=True).start()
            if not _wait_healthy(service):
                print(
                    f"{_prefix('make run')} {service.name} did not become healthy "
                    f"({service.health}); stopping",
                    flush=True,
                )
                stop_all()
                return 1
        if studio_port is not None:
            print(
                f"{_prefix('make run')} all up: LangGraph Studio's API at "
                f"http://127.0.0.1:{studio_port} (Ctrl-C stops everything)",
                flush=True,
            )
            return _supervise(running, stop_all)
        base = f"http://localhost:{os.environ.get('PORT', '8000')}"
        print(
            f"{_prefix('make run')} all up: orchestrator at {base} (Ctrl-C stops everything)",
            flush=True,
        )
        print(f"{_prefix('make run')} {_playground_line(base)}", flush=True)
        return _supervise(running, stop_all)
    except KeyboardInterrupt:
        print(f"\n{_prefix('make run')} stopping…", flush=True)
        stop_all()
        return 0


if __name__ == "__main__":
    sys.exit(main())
