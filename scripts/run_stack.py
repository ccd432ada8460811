"""`make run`: the three reference agents, the business-context demo and the orchestrator."""

import os
import signal
import socket
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


CONTEXTO_PORT = 8004
"""The business-context demo's default port (`CONTEXTO_PORT`)."""


def agent_port(name: str) -> int:
    """A reference agent's port: `<NAME>_PORT` (the agent reads the same variable), else its
    default (venta 8001, cita 8002, reserva 8003)."""
    default = KNOWN_AGENTS[name].port
    assert default is not None
    return int(os.environ.get(f"{name.upper()}_PORT", default))


def ports(studio_port: str | None = None) -> dict[str, int]:
    """Every port the stack listens on, by the variable that moves it."""
    found = {f"{name.upper()}_PORT": agent_port(name) for name in REFERENCE_AGENTS}
    found["CONTEXTO_PORT"] = int(os.environ.get("CONTEXTO_PORT", CONTEXTO_PORT))
    if studio_port is not None:
        found["--studio"] = int(studio_port)
    else:
        found["PORT"] = int(os.environ.get("PORT", "8000"))
    return found


def busy_ports(wanted: dict[str, int]) -> list[str]:
    """The variables whose port is taken (another stack, or anything else), or used twice."""
    busy = []
    seen: dict[int, str] = {}
    for variable, port in wanted.items():
        if port in seen:
            busy.append(f"{variable}={port} (also {seen[port]})")
            continue
        seen[port] = variable
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(f"{variable}={port}")
    return busy


def _moved_agents() -> dict[str, str]:
    """MCP_<NAME>_URL of every reference agent when any agent's port was moved (and the URL was
    not set by hand): all three, since declaring one declares the whole roster."""
    defaults = all(agent_port(n) == KNOWN_AGENTS[n].port for n in REFERENCE_AGENTS)
    if defaults:
        return {}
    return {
        f"MCP_{name.upper()}_URL": f"http://127.0.0.1:{agent_port(name)}/mcp"
        for name in REFERENCE_AGENTS
        if f"MCP_{name.upper()}_URL" not in os.environ
    }


def _data_dir() -> dict[str, str]:
    """With `DATA_DIR`, every SQLite file of the stack (checkpoints, the agents' data) in it,
    so a second stack keeps its conversations and bookings apart."""
    folder = os.environ.get("DATA_DIR")
    if not folder:
        return {}
    files = {f"{name.upper()}_DB": f"{folder}/{name}.sqlite" for name in REFERENCE_AGENTS}
    files["CHECKPOINT_DB"] = f"{folder}/checkpoints.sqlite"
    return {key: value for key, value in files.items() if key not in os.environ}


def services(studio_port: str | None = None) -> list[Service]:
    """What `make run` starts (with `studio_port`: `langgraph dev` instead of the server);
    every port can be moved through the environment (see `ports`)."""
    py = sys.executable
    host = os.environ.get("HOST", "0.0.0.0")
    port = os.environ.get("PORT", "8000")
    contexto_port = os.environ.get("CONTEXTO_PORT", str(CONTEXTO_PORT))
    data = _data_dir()
    agents = [
        Service(
            name,
            [py, "-m", f"mcp_agents.{name}"],
            f"http://127.0.0.1:{agent_port(name)}/health",
            env={f"{name.upper()}_PORT": str(agent_port(name)), **data},
        )
        for name in REFERENCE_AGENTS
    ]
    contexto = Service(
        "contexto",
        [py, "-m", "mcp_agents.contexto"],
        f"http://127.0.0.1:{contexto_port}/health",
        env={"CONTEXTO_PORT": contexto_port},
    )
    orchestrator = Service(
        "orquestador",
        [py, "-m", "uvicorn", "server.main:app", "--host", host, "--port", port, "--workers", "1"],
        f"http://127.0.0.1:{port}/health",
        env={
            "CONTEXTO_NEGOCIO_ENDPOINT": os.environ.get(
                "CONTEXTO_NEGOCIO_ENDPOINT", f"http://127.0.0.1:{contexto_port}/"
            ),
            **_moved_agents(),
            **data,
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
    os.makedirs(os.environ.get("DATA_DIR") or "data", exist_ok=True)
    busy = busy_ports(ports(studio_port))
    if busy:
        print(
            f"{_prefix('make run')} port in use: {', '.join(busy)}; another stack may be "
            'running: move this one\'s ports (README, "Two stacks on one machine")',
            flush=True,
        )
        return 1
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
