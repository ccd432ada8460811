"""Handles and a reusing factory for the test MCP agents running as subprocesses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from langchain_mcp_adapters.sessions import StreamableHttpConnection

from harness.procs import ServerProcess, free_port

MODULES = {
    "chat": "harness.chat_agent",
    "tool": "harness.tool_agent",
    "echo": "harness.echo_agent",
}


class AgentHandle:
    """One test agent process: `.url` (…/mcp), `.stats()`, `.control(**kw)`, `.reset()`."""

    def __init__(
        self, kind: str, name: str, log_dir: Path, port: int | None = None, **options: Any
    ) -> None:
        self.kind, self.name, self.options = kind, name, options
        self.port = port or free_port()
        argv: list[object] = [
            "--port",
            self.port,
            "--name",
            name,
            "--delay",
            options.get("delay", 0.0),
            "--fail-first",
            options.get("fail_first", 0),
        ]
        if kind == "chat":
            argv += ["--session-id-type", options.get("session_id_type", "str")]
            argv += ["--tool-name", options.get("tool_name", "chat")]
        argv += ["--stateless"] if options.get("stateless") else []
        argv += ["--json-response"] if options.get("json_response") else []
        self.process = ServerProcess.python_module(
            MODULES[kind],
            *argv,
            name=f"{kind}-{name}-{self.port}",
            log_dir=log_dir,
            ready_url=f"{self.base_url}/health",
            env=options.get("env"),
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The MCP endpoint, http://127.0.0.1:PORT/mcp."""
        return f"{self.base_url}/mcp"

    def connection(self) -> StreamableHttpConnection:
        """The MultiServerMCPClient connection entry for this agent."""
        return {"transport": "streamable_http", "url": self.url}

    @property
    def alive(self) -> bool:
        return self.process.alive

    def start(self) -> AgentHandle:
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()

    def kill9(self) -> None:
        """Crash the agent (SIGKILL)."""
        self.process.kill9()

    def restart(self) -> AgentHandle:
        """Start it again on the same port (fresh memory and stats)."""
        self.process.restart()
        return self

    def _http(self, method: str, path: str, json: Any = None) -> Any:
        r = httpx.request(method, self.base_url + path, json=json, timeout=5.0, trust_env=False)
        r.raise_for_status()
        return r.json()

    def stats(self) -> dict[str, Any]:
        """Counters: requests {"POST /mcp": n}, total_requests, rpc {"tools/call": n},
        tool_calls, chat_calls, sessions {id: turns}, control, in_flight."""
        return self._http("GET", "/stats")

    def control(self, **changes: float) -> dict[str, Any]:
        """Change faults at runtime: delay, fail_next, hang_next, error_result_next,
        bad_output_next, exit_next, big_next (bytes of the next result)."""
        return self._http("POST", "/control", changes)

    def reset_stats(self) -> None:
        self._http("POST", "/stats/reset")

    def reset(self) -> None:
        """Stats, conversation memory and faults back to the start options."""
        self._http("POST", "/reset")

    def chat_calls(self) -> list[dict[str, Any]]:
        """Arguments of every `chat` call (plus `session_id_type`: 'int' or 'str')."""
        return self.stats()["chat_calls"]

    def rpc_count(self, method: str) -> int:
        """How many JSON-RPC messages with this method arrived (e.g. 'initialize', 'tools/list')."""
        return self.stats()["rpc"].get(method, 0)

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines)

    def __repr__(self) -> str:
        return f"<AgentHandle {self.kind}:{self.name} {self.url} alive={self.alive}>"


class AgentFactory:
    """Starts agents on demand; a later call with the same name and options reuses (and resets) it,
    restarting it if it died. `fresh=True` always starts a new, uncached process."""

    def __init__(self, kind: str, log_dir: Path) -> None:
        self.kind, self.log_dir = kind, log_dir
        self._cache: dict[tuple[Any, ...], AgentHandle] = {}
        self._all: list[AgentHandle] = []

    def _key(self, name: str, options: dict[str, Any]) -> tuple[Any, ...]:
        return (name, *sorted((k, repr(v)) for k, v in options.items()))

    def __call__(
        self, name: str = "reserva", *, fresh: bool = False, **options: Any
    ) -> AgentHandle:
        """An agent named `name`; options: session_id_type ("str"|"int", chat only), tool_name
        (the conversational tool's name, chat only; default `chat`), delay,
        fail_first, stateless, json_response, port, env (extra environment)."""
        return self.many(name, fresh=fresh, **options)[0]

    def many(self, *names: str, fresh: bool = False, **options: Any) -> list[AgentHandle]:
        """Several agents with the same options, started in parallel."""
        handles, new = [], []
        for name in names:
            key = self._key(name, options)
            handle = None if fresh else self._cache.get(key)
            if handle is None:
                handle = AgentHandle(self.kind, name, self.log_dir, **options)
                if not fresh:  # a fresh agent is private to its caller
                    self._cache[key] = handle
                self._all.append(handle)
                new.append(handle)
            elif not handle.alive:
                new.append(handle)
            else:
                handle.reset()
            handles.append(handle)
        for h in new:
            h.process.spawn()
        for h in new:
            h.process.wait_ready()
        return handles

    def stop_all(self) -> None:
        for handle in self._all:
            handle.stop()
        self._cache.clear()
        self._all.clear()
