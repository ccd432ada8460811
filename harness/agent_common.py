"""Shared plumbing of the test MCP agents: stats/control middleware, faults, CLI, runner."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_KEYS = (
    "delay",
    "fail_next",
    "hang_next",
    "error_result_next",
    "bad_output_next",
    "exit_next",
    "big_next",
)


@dataclass
class McpTestAgentState:
    """Everything a test agent counts and every fault it is told to inject."""

    name: str
    initial: dict[str, float] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    rpc: Counter[str] = field(default_factory=Counter)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    chat_calls: list[dict[str, Any]] = field(default_factory=list)
    memory: dict[str, list[str]] = field(default_factory=dict)
    control: dict[str, float] = field(default_factory=dict)
    in_flight: int = 0
    delays_finished: int = 0
    """Calls that waited their whole `delay` (a call cut before is never counted)."""

    def __post_init__(self) -> None:
        self.control = {k: self.initial.get(k, 0) for k in CONTROL_KEYS}

    def reset_stats(self) -> None:
        self.requests.clear()
        self.rpc.clear()
        self.tool_calls.clear()
        self.chat_calls.clear()
        self.delays_finished = 0

    def reset_all(self) -> None:
        """Stats, conversation memory and controls back to the command-line settings."""
        self.reset_stats()
        self.memory.clear()
        self.__post_init__()

    def snapshot(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": os.getpid(),
            "requests": dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "rpc": dict(self.rpc),
            "tool_calls": self.tool_calls,
            "chat_calls": self.chat_calls,
            "sessions": {k: len(v) for k, v in self.memory.items()},
            "control": self.control,
            "in_flight": self.in_flight,
            "delays_finished": self.delays_finished,
        }

    def count_rpc(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            return
        for msg in data if isinstance(data, list) else [data]:
            if isinstance(msg, dict) and "method" in msg:
                self.rpc[msg["method"]] += 1

    def _take(self, key: str) -> bool:
        if self.control[key] > 0:
            self.control[key] -= 1
            return True
        return False

    async def run_tool(
        self, tool: str, arguments: dict[str, Any], produce: Callable[[], Any]
    ) -> Any:
        """Record a call, apply faults (delay, then fail > error_result > bad_output > hang > exit),
        reply."""
        self.tool_calls.append({"name": tool, "arguments": arguments})
        self.in_flight += 1
        try:
            if self.control["delay"]:
                await asyncio.sleep(self.control["delay"])
                self.delays_finished += 1
            if self._take("fail_next"):
                raise RuntimeError(f"[{self.name}] fallo simulado")
            if self._take("error_result_next"):
                msg = f"[{self.name}] error simulado"
                return CallToolResult(
                    content=[TextContent(type="text", text=msg)],
                    structuredContent={"result": msg},
                    isError=True,
                )
            if self._take("bad_output_next"):  # structured content its output schema refuses
                return CallToolResult(
                    content=[TextContent(type="text", text=f"[{self.name}] salida inválida")],
                    structuredContent={"inesperado": 1},
                    isError=False,
                )
            if self._take("hang_next"):
                await asyncio.Event().wait()  # never answers
            if self._take("exit_next"):
                os._exit(3)  # the server dies mid-call
            if self.control["big_next"] > 0:  # a result of that many bytes
                size, self.control["big_next"] = int(self.control["big_next"]), 0
                return "x" * size
            return produce()
        finally:
            self.in_flight -= 1


class StatsMiddleware:
    """Counts every HTTP request and JSON-RPC method; serves /stats, /control, /reset, /health."""

    def __init__(self, app: ASGIApp, state: McpTestAgentState) -> None:
        self.app = app
        self.state = state
        self.control_app = Starlette(
            routes=[
                Route("/health", self._health, methods=["GET"]),
                Route("/stats", self._stats, methods=["GET"]),
                Route("/stats/reset", self._stats_reset, methods=["POST"]),
                Route("/reset", self._reset, methods=["POST"]),
                Route("/control", self._control, methods=["GET", "POST"]),
            ]
        )
        self.control_paths = {r.path for r in self.control_app.routes if isinstance(r, Route)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"].rstrip("/") or "/", scope["method"]
        if path in self.control_paths:
            return await self.control_app(scope, receive, send)
        self.state.requests[f"{method} {path}"] += 1
        if method != "POST":
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            msg = await receive()
            if msg["type"] != "http.request":
                return
            chunks.append(msg.get("body", b""))
            more = msg.get("more_body", False)
        body = b"".join(chunks)
        self.state.count_rpc(body)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "name": self.state.name})

    async def _stats(self, request: Request) -> Response:
        return JSONResponse(self.state.snapshot())

    async def _stats_reset(self, request: Request) -> Response:
        self.state.reset_stats()
        return JSONResponse({"ok": True})

    async def _reset(self, request: Request) -> Response:
        self.state.reset_all()
        return JSONResponse({"ok": True})

    async def _control(self, request: Request) -> Response:
        if request.method == "POST":
            changes = await request.json()
            unknown = set(changes) - set(CONTROL_KEYS)
            if unknown:
                return JSONResponse({"error": f"unknown controls {sorted(unknown)}"}, 400)
            for key, value in changes.items():
                self.state.control[key] = float(value) if key == "delay" else int(value)
        return JSONResponse(self.state.control)


def make_parser(description: str) -> argparse.ArgumentParser:
    """Command-line options shared by the test agents."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", default="reserva")
    p.add_argument("--delay", type=float, default=0.0, help="seconds before every tool reply")
    p.add_argument("--fail-first", type=int, default=0, help="the first N tool calls raise")
    p.add_argument("--stateless", action="store_true", help="stateless streamable HTTP")
    p.add_argument("--json-response", action="store_true", help="JSON instead of SSE responses")
    return p


def make_server(args: argparse.Namespace) -> tuple[FastMCP, McpTestAgentState]:
    """A FastMCP server accepting any Host header, and its state seeded from the CLI."""
    mcp = FastMCP(
        args.name,
        host=args.host,
        port=args.port,
        stateless_http=args.stateless,
        json_response=args.json_response,
        log_level="WARNING",
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    state = McpTestAgentState(
        args.name, initial={"delay": args.delay, "fail_next": args.fail_first}
    )
    return mcp, state


def serve(mcp: FastMCP, state: McpTestAgentState, host: str, port: int) -> None:
    """Serve the MCP app at /mcp behind the stats middleware (blocks)."""
    import uvicorn

    app = StatsMiddleware(mcp.streamable_http_app(), state)
    print(f"[{state.name}] MCP agent on http://{host}:{port}/mcp (pid {os.getpid()})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
