"""`make run`: the three reference agents, the business-context demo and the orchestrator, one command."""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field

COLORS = {"venta": "35", "cita": "36", "reserva": "33", "contexto": "34", "orquestador": "32"}


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
    return f"\033[{COLORS.get(name, '0')}m{tag}\033[0m" if sys.stdout.isatty() else tag


def _pump(service: Service) -> None:
    assert service.proc is not None and service.proc.stdout is not None
    for line in service.proc.stdout:
        sys.stdout.write(f"{_prefix(service.name)} {line}")
        sys.stdout.flush()


def _wait_healthy(service: Service, timeout: float = 30) -> bool:
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


def services() -> list[Service]:
    """What `make run` starts; ports and hosts can be changed through the environment."""
    py = sys.executable
    host = os.environ.get("HOST", "0.0.0.0")
    port = os.environ.get("PORT", "8000")
    agents = [
        Service(name, [py, "-m", f"mcp_agents.{name}"], f"http://127.0.0.1:{agent_port}/health")
        for name, agent_port in (("venta", 8001), ("cita", 8002), ("reserva", 8003))
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
    return [*agents, contexto, orchestrator]


def main() -> int:
    """Start everything in order, relay prefixed logs, stop all on Ctrl-C or when one dies."""
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

    signal.signal(signal.SIGTERM, lambda *_: (stop_all(), sys.exit(0)))
    try:
        for service in services():
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
        print(
            f"{_prefix('make run')} all up: orchestrator at "
            f"http://localhost:{os.environ.get('PORT', '8000')} (Ctrl-C stops everything)",
            flush=True,
        )
        while all(s.proc and s.proc.poll() is None for s in running):
            time.sleep(0.5)
        dead = [s.name for s in running if s.proc and s.proc.poll() is not None]
        print(f"{_prefix('make run')} {', '.join(dead)} exited; stopping the rest", flush=True)
        stop_all()
        return 1
    except KeyboardInterrupt:
        print(f"\n{_prefix('make run')} stopping…", flush=True)
        stop_all()
        return 0


if __name__ == "__main__":
    sys.exit(main())
