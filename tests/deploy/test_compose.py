"""compose.yaml: services, ports, healthchecks and wiring; then the stack's commands run here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from harness.orchestrator import chat_body
from harness.procs import ServerProcess, child_env, free_port
from mcp_agents.common.server import transport_security
from tests.deploy.files import compose, env_port, parse_dockerfile

AGENTS = {"reserva": 8003, "cita": 8002, "venta": 8001}  # the reference agents' default ports
PYTHON_SERVICES = (*AGENTS, "contexto", "orquestador")
VENV_BIN = str(Path(sys.executable).parent)
DATABASE_URL = re.compile(
    r"^postgresql://(?P<user>\w+):\$\{POSTGRES_PASSWORD(:\?[^}]*)?\}@postgres:5432/(?P<db>\w+)$"
)


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return compose()["services"]


def test_services_and_images(services: dict[str, Any]) -> None:
    default = {name for name, service in services.items() if not service.get("profiles")}
    assert default == {"postgres", *PYTHON_SERVICES}
    assert services["postgres"]["image"] == "postgres:16-alpine"
    images = {services[name]["image"] for name in PYTHON_SERVICES}
    assert len(images) == 1  # one image, several commands
    assert all(services[name]["build"] == "." for name in PYTHON_SERVICES)


def test_every_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and {"test", "interval", "timeout", "retries"} <= set(check), name
        assert check["test"][0] == "CMD", name
        if name in PYTHON_SERVICES:  # our image has neither
            assert "curl" not in check["test"] and "wget" not in check["test"], name
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"


@pytest.mark.parametrize("name", [*AGENTS, "contexto"])
def test_agent_command_port_and_healthcheck(services: dict[str, Any], name: str) -> None:
    service = services[name]
    assert service["command"] == ["python", "-m", f"mcp_agents.{name}"]
    env = service["environment"]
    assert env[f"{name.upper()}_HOST"] == "0.0.0.0"  # reachable as http://<name>:<port>
    key, port = env_port(service)
    assert key == f"{name.upper()}_PORT" and port == AGENTS.get(name, 8004)
    check = service["healthcheck"]["test"]
    assert check[1:3] == ["python", "-c"] and f"os.environ['{key}']" in check[3]
    assert "/health" in check[3]
    assert "ports" not in service  # only the orchestrator is published
    assert "env_file" not in service  # .env secrets stay with it
    if name in AGENTS:
        assert env[f"{name.upper()}_DB"].startswith("/app/data/")
    # 0.0.0.0 turns the MCP SDK's Host-header check off, so `Host: reserva:8003` is accepted
    assert (
        transport_security(env[f"{name.upper()}_HOST"], False).enable_dns_rebinding_protection
        is False
    )


def test_orchestrator_wiring(services: dict[str, Any]) -> None:
    orchestrator = services["orquestador"]
    assert orchestrator["command"] == parse_dockerfile().final.exec_form("CMD")
    env = orchestrator["environment"]
    key, port = env_port(orchestrator)
    assert key == "UVICORN_PORT" and port == 8000
    assert orchestrator["ports"] == ["${ORQUESTADOR_PORT:-8000}:8000"]
    assert orchestrator["depends_on"] == {
        name: {"condition": "service_healthy"}
        for name, service in services.items()
        if name != "orquestador" and not service.get("profiles")
    }
    for agent in AGENTS:
        url = urlsplit(env[f"MCP_{agent.upper()}_URL"])
        assert (url.scheme, url.hostname, url.path) == ("http", agent, "/mcp")
        assert url.port == env_port(services[agent])[1]
    contexto = urlsplit(env["CONTEXTO_NEGOCIO_ENDPOINT"])
    assert (contexto.hostname, contexto.port) == ("contexto", env_port(services["contexto"])[1])
    database = DATABASE_URL.match(env["DATABASE_URL"])
    assert database, env["DATABASE_URL"]
    postgres_env = services["postgres"]["environment"]
    assert database["user"] == postgres_env["POSTGRES_USER"]
    assert database["db"] == postgres_env["POSTGRES_DB"]
    assert postgres_env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")  # no password in git
    assert "/ready" in orchestrator["healthcheck"]["test"][3]
    assert orchestrator["env_file"] == [{"path": ".env", "required": False}]


def _local(value: str, ports: dict[str, int], services: dict[str, Any]) -> str:
    """A compose URL (http://reserva:8003/mcp) pointed at the local process of that service."""
    parts = urlsplit(value)
    if parts.scheme != "http" or parts.hostname not in ports:
        return value
    assert parts.port == env_port(services[parts.hostname])[1], value
    return urlunsplit(parts._replace(netloc=f"127.0.0.1:{ports[parts.hostname]}"))


def _healthcheck(service: dict[str, Any], env: dict[str, str], cwd: Path) -> int:
    """Run the healthcheck command like Docker does: healthy after one success within `retries`."""
    command = service["healthcheck"]["test"][1:]  # drop "CMD"
    for _ in range(int(service["healthcheck"]["retries"])):
        code = subprocess.run(
            command, env=child_env(env), cwd=cwd, capture_output=True, timeout=20
        ).returncode
        if code == 0:
            return 0
        time.sleep(1)
    return code


def test_the_stack_runs_here_with_compose_commands_and_healthchecks(
    services: dict[str, Any], tmp_path: Path, pg_dsn: str
) -> None:
    """Every Python service's command and healthcheck, unchanged, on loopback ports (PostgreSQL
    is the test server; 127.0.0.1 + allow-any-host stands in for the 0.0.0.0 bind)."""
    ports = {name: free_port() for name in PYTHON_SERVICES}
    path = {"PATH": VENV_BIN + os.pathsep + os.environ["PATH"]}
    processes: list[ServerProcess] = []
    envs: dict[str, dict[str, str]] = {}
    try:
        for name in (*AGENTS, "contexto"):
            prefix = name.upper()
            env = {
                **services[name]["environment"],
                **path,
                f"{prefix}_HOST": "127.0.0.1",
                f"{prefix}_PORT": str(ports[name]),
                f"{prefix}_ALLOW_ANY_HOST": "1",
            }
            if f"{prefix}_DB" in env:
                env[f"{prefix}_DB"] = str(tmp_path / f"{name}.sqlite")
            envs[name] = env
            processes.append(
                ServerProcess(
                    services[name]["command"],
                    name=name,
                    log_dir=tmp_path,
                    env=env,
                    cwd=tmp_path,
                    ready_port=ports[name],
                ).spawn()
            )
        for process in processes:
            process.wait_ready(30)
        for name in (*AGENTS, "contexto"):
            assert _healthcheck(services[name], envs[name], tmp_path) == 0, name
        # an MCP request addressed to the compose host name is accepted
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "compose-test", "version": "1"},
            },
        }
        answer = httpx.post(
            f"http://127.0.0.1:{ports['reserva']}/mcp",
            json=initialize,
            headers={"Host": "reserva:8003", "Accept": "application/json, text/event-stream"},
            trust_env=False,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

        orchestrator = services["orquestador"]
        env = {
            key: _local(str(value), ports, services)
            for key, value in orchestrator["environment"].items()
        }
        env.update(
            path,
            UVICORN_HOST="127.0.0.1",
            UVICORN_PORT=str(ports["orquestador"]),
            DATABASE_URL=pg_dsn,
            LLM_MODE="offline",
            SESSION_TTL_SECONDS="0",
        )
        server = ServerProcess(
            orchestrator["command"],
            name="orquestador",
            log_dir=tmp_path,
            env=env,
            cwd=tmp_path,
            ready_port=ports["orquestador"],
            ready_timeout=30,
        )
        processes.append(server.start())
        assert _healthcheck(orchestrator, env, tmp_path) == 0, server.log_tail()
        base = f"http://127.0.0.1:{ports['orquestador']}"
        assert httpx.get(f"{base}/ready", trust_env=False).json()["checkpointer"] == "postgres"
        reply = httpx.post(
            f"{base}/api/agent/chat",
            trust_env=False,
            timeout=30,
            json=chat_body(
                "Quiero reservar una mesa para 4 mañana a las 8pm", session_id="compose-1"
            ),
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["agent_used"] == "reserva" and reply.json()["action"] == "delegate"
    finally:
        for process in reversed(processes):
            process.stop()
