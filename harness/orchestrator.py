"""Run the real orchestrator app (lifespan on) under uvicorn in a thread, and build chat bodies."""

from __future__ import annotations

import asyncio
import copy
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from harness.procs import ServerProcess, free_port
from scripts.demo_config import DEMO_CONFIG
from server.main import create_app
from server.settings import Settings

# the demo bot, as company 12 (no demo business context) and sent from WhatsApp
BASE_CONFIG: dict[str, Any] = {**DEMO_CONFIG, "id_empresa": 12, "canal": "whatsapp"}


def chat_body(message: str, session_id: Any = "s1", **config: Any) -> dict[str, Any]:
    """A valid chat request with the base config (overridden by `config`)."""
    cfg = copy.deepcopy(BASE_CONFIG)
    cfg.update(config)
    return {"message": message, "session_id": session_id, "config": cfg}


def orchestrator_settings(
    tmp_path: Path, agents: dict[str, str] | None = None, /, **overrides: Any
) -> Settings:
    """Settings isolated from `.env`: only `agents` enabled, SQLite under tmp_path."""
    agents = agents or {}
    values: dict[str, Any] = {
        "CHECKPOINT_DB": str(tmp_path / "checkpoints.sqlite"),
        "LOG_LEVEL": "INFO",
        "MCP_TIMEOUT": 5,
        "MCP_RETRY_BACKOFF": 0.01,
        "SESSION_TTL_SECONDS": 0,
        "RATE_LIMIT_PER_MINUTE": 0,
        "SESSION_RATE_LIMIT_PER_MINUTE": 0,
        "COMPANY_RATE_LIMIT_PER_MINUTE": 0,
        "AUTH_FAILURES_PER_MINUTE": 0,
    }
    for name in ("reserva", "cita", "venta"):
        values[f"MCP_{name.upper()}_ENABLED"] = name in agents
        if name in agents:
            values[f"MCP_{name.upper()}_URL"] = agents[name]
    values.update(overrides)
    return Settings(_env_file=None, **values)


orchestrator_settings.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def model_settings(stub: Any, **extra: Any) -> dict[str, Any]:
    """Settings that route with the real ChatOpenAI client against the OpenAI stub."""
    return {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": stub.base_url,
        "LLM_MODE": "openai",
        "OPENAI_TIMEOUT": 5,
        "OPENAI_MAX_RETRIES": 0,
        **extra,
    }


class RunningApp:
    """The orchestrator served over real HTTP on a free loopback port, lifespan included."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(256)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=f"orquestador-{self.port}",
        )
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def start(self, wait_agents: float = 10.0) -> RunningApp:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("orchestrator did not start")
            time.sleep(0.01)
        if wait_agents:
            self.wait_agents(wait_agents)
        return self

    @property
    def services(self) -> Any:
        return self.app.state.services

    def wait_agents(self, timeout: float) -> None:
        """Wait until every enabled MCP agent is connected."""
        if not self.call(self.services.agents.wait_connected(timeout), timeout + 5):
            raise RuntimeError("agents did not connect")

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the app's own event loop (to read its services); return its result."""
        loop = self._server.servers[0].get_loop()
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def chat(self, message: str, session_id: Any = "s1", **config: Any) -> httpx.Response:
        return self.client.post("/api/agent/chat", json=chat_body(message, session_id, **config))

    def post_raw(self, content: bytes | str, **headers: str) -> httpx.Response:
        hdrs = {"content-type": "application/json", **headers}
        return self.client.post("/api/agent/chat", content=content, headers=hdrs)

    def metrics(self) -> dict[str, Any]:
        return self.client.get("/metrics").json()

    def stop(self) -> None:
        self.client.close()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


StartApp = Callable[..., RunningApp]
"""start_app(agents={"reserva": url}, wait_agents=10, **SETTINGS) -> a running orchestrator."""


class OrchestratorProcess:
    """The orchestrator as its own process (`uvicorn server.main:app`), for restarts and kill -9."""

    def __init__(self, log_dir: Path, env: dict[str, Any], port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        values = {
            "LOG_LEVEL": "INFO",
            "SESSION_TTL_SECONDS": "0",
            "MCP_RETRY_BACKOFF": "0.01",
            "RATE_LIMIT_PER_MINUTE": "0",
            "SESSION_RATE_LIMIT_PER_MINUTE": "0",
            "COMPANY_RATE_LIMIT_PER_MINUTE": "0",
            "AUTH_FAILURES_PER_MINUTE": "0",
        }
        values.update({key: str(value) for key, value in env.items()})
        self.process = ServerProcess.python_module(
            "uvicorn",
            "server.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            self.port,
            name=f"orquestador-{self.port}",
            log_dir=log_dir,
            env=values,
            ready_url=f"{self.url}/health",
            ready_timeout=30,
        )
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def start(self) -> OrchestratorProcess:
        self.process.start()
        return self

    def chat(self, message: str, session_id: Any = "s1", **config: Any) -> httpx.Response:
        return self.client.post("/api/agent/chat", json=chat_body(message, session_id, **config))

    def stop(self) -> None:
        self.process.stop()

    def close(self) -> None:
        self.client.close()
        if self.process.alive:
            self.process.stop()
