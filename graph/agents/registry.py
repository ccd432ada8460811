"""The agents the graph may call: one held MCP connection each, with timeout, retries and a breaker."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from langchain_core.tools import BaseTool
from langchain_mcp_adapters.interceptors import MCPToolCallRequest
from langchain_mcp_adapters.tools import convert_mcp_tool_to_langchain_tool
from mcp.types import CallToolResult, TextContent
from tenacity import (
    AsyncRetrying,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from graph.agents.breaker import CircuitBreaker, CircuitOpenError
from graph.agents.connection import AgentConnection
from graph.agents.session_id import SessionIdTypeError, coerce_session_id

log = logging.getLogger(__name__)

CHAT_TOOL = "chat"


class AgentCallError(RuntimeError):
    """The agent answered with an error result (isError) on the conversational path."""


class AgentObserver(Protocol):
    """Receives one event per agent call (for metrics)."""

    def agent_call(self, agent: str, ok: bool, seconds: float, reason: str | None) -> None: ...


@dataclass(frozen=True)
class AgentSpec:
    """How to reach one agent and which path to use with it."""

    name: str
    url: str
    mode: Literal["auto", "chat", "tools"] = "auto"


@dataclass(frozen=True)
class ResiliencePolicy:
    """Per-call limits shared by every agent."""

    timeout: float = 30.0
    max_attempts: int = 3
    backoff: float = 0.2
    breaker_threshold: int = 5
    breaker_reset: float = 60.0


class AgentRegistry:
    """Owns the agents' connections (started in the app's lifespan) and makes resilient calls."""

    def __init__(
        self,
        specs: list[AgentSpec],
        policy: ResiliencePolicy,
        observer: AgentObserver | None = None,
    ) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._policy = policy
        self._observer = observer
        self._connections = {
            spec.name: AgentConnection(spec.name, spec.url, connect_timeout=min(policy.timeout, 10))
            for spec in specs
        }
        self._breakers = {
            spec.name: CircuitBreaker(policy.breaker_threshold, policy.breaker_reset)
            for spec in specs
        }
        self._lc_tools: dict[str, tuple[int, list[BaseTool]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def names(self) -> list[str]:
        """The agents that may be routed to (the enabled ones), in a stable order."""
        return list(self._specs)

    @property
    def policy(self) -> ResiliencePolicy:
        """The resilience limits in force."""
        return self._policy

    def connection(self, name: str) -> AgentConnection:
        """The held connection of one agent."""
        return self._connections[name]

    def breakers(self) -> dict[str, dict[str, object]]:
        """Each agent's breaker state and consecutive failures (for /metrics)."""
        return {name: breaker.snapshot() for name, breaker in self._breakers.items()}

    async def start(self) -> None:
        """Start one owner task per agent; a down agent is retried in the background."""
        for conn in self._connections.values():
            self._tasks.append(asyncio.create_task(conn.run(), name=f"mcp-{conn.name}"))

    async def aclose(self) -> None:
        """Stop the owner tasks; each closes its own session in its own task."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def wait_connected(self, timeout: float) -> bool:
        """Wait until every agent is connected (tests, start-up checks); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(conn.connected for conn in self._connections.values()):
                return True
            await asyncio.sleep(0.05)
        return False

    def resolved_mode(self, name: str) -> Literal["chat", "tools"]:
        """`chat` or `tools` for one agent; `auto` is `chat` when the server has a chat tool."""
        mode = self._specs[name].mode
        if mode != "auto":
            return mode
        tools = self._connections[name].tools
        return "tools" if tools and CHAT_TOOL not in tools else "chat"

    async def call(
        self, name: str, tool: str, args: dict[str, Any], *, error_is_failure: bool
    ) -> CallToolResult:
        """Call one tool with breaker, per-attempt timeout and retries with exponential backoff."""
        conn = self._connections[name]

        async def attempt() -> CallToolResult:
            result = await conn.call_tool(tool, args, self._policy.timeout)
            if error_is_failure and result.isError:
                raise AgentCallError(_join_text(result)[:300])
            return result

        return await self._guarded(name, attempt)

    async def chat(
        self, name: str, message: str, session_id: str, config: Mapping[str, Any]
    ) -> str:
        """The conversational path: one `chat` call, its text blocks joined into one string."""
        conn = self._connections[name]
        context = {"session_id": session_id, "config": dict(config)}

        async def attempt() -> CallToolResult:
            if not conn.connected:
                await conn.wait_session(min(self._policy.timeout, 5))
            schema = conn.tools.get(CHAT_TOOL)
            if schema is None:
                raise AgentCallError(f"agent {name} has no '{CHAT_TOOL}' tool")
            sid = coerce_session_id(session_id, schema.inputSchema)
            args = {"message": message, "session_id": sid, "context": context}
            result = await conn.call_tool(CHAT_TOOL, args, self._policy.timeout)
            if result.isError:
                raise AgentCallError(_join_text(result)[:300])
            return result

        return _join_text(await self._guarded(name, attempt))

    async def _guarded(
        self, name: str, attempt: Callable[[], Awaitable[CallToolResult]]
    ) -> CallToolResult:
        """Run `attempt` behind the agent's breaker, with timeout-bounded retries."""
        breaker = self._breakers[name]
        started = time.perf_counter()
        try:
            breaker.before_call()
        except CircuitOpenError:
            self._observe(name, False, started, "circuit_open")
            raise
        try:
            async for retrying in AsyncRetrying(
                stop=stop_after_attempt(self._policy.max_attempts),
                wait=wait_exponential(multiplier=self._policy.backoff, max=5),
                # a cancelled turn (shutdown deadline, client gone) is never retried
                retry=retry_if_not_exception_type((SessionIdTypeError, asyncio.CancelledError)),
                reraise=True,
            ):
                with retrying:
                    result = await attempt()
        except (asyncio.CancelledError, SessionIdTypeError) as exc:
            breaker.abort_probe()  # not the agent's fault: the breaker does not count it
            if isinstance(exc, SessionIdTypeError):
                self._observe(name, False, started, "session_id_type")
            raise
        except Exception as exc:
            breaker.record_failure()
            self._observe(name, False, started, type(exc).__name__)
            raise
        breaker.record_success()
        self._observe(name, True, started, None)
        return result

    def langchain_tools(self, name: str) -> list[BaseTool]:
        """The agent's domain tools for a tool-calling model, converted once per session."""
        conn = self._connections[name]
        cached = self._lc_tools.get(name)
        if cached is not None and cached[0] == conn.generation:
            return cached[1]
        session = conn.session
        if session is None:
            return []
        interceptor = _ResilientInterceptor(self, name)
        tools = [
            convert_mcp_tool_to_langchain_tool(
                session,
                tool,
                tool_interceptors=[interceptor],
                server_name=name,
                handle_tool_errors=True,
            )
            for tool in conn.tools.values()
            if tool.name != CHAT_TOOL
        ]
        self._lc_tools[name] = (conn.generation, tools)
        return tools

    def _observe(self, name: str, ok: bool, started: float, reason: str | None) -> None:
        if self._observer is not None:
            self._observer.agent_call(name, ok, time.perf_counter() - started, reason)


class _ResilientInterceptor:
    """Routes a LangChain MCP tool call through the registry (current session + resilience)."""

    def __init__(self, registry: AgentRegistry, name: str) -> None:
        self._registry = registry
        self._name = name

    async def __call__(
        self, request: MCPToolCallRequest, handler: Callable[[MCPToolCallRequest], Awaitable[Any]]
    ) -> CallToolResult:
        try:
            return await self._registry.call(
                self._name, request.name, request.args, error_is_failure=False
            )
        except (CircuitOpenError, Exception) as exc:  # the model sees a plain error result
            log.warning(
                "agent tool call failed",
                extra={"agent": self._name, "tool": request.name, "error": type(exc).__name__},
            )
            return CallToolResult(
                isError=True,
                content=[
                    TextContent(type="text", text="El servicio no está disponible en este momento.")
                ],
            )


def _join_text(result: CallToolResult) -> str:
    """Join the text blocks of an MCP result into one plain string."""
    parts = [block.text for block in result.content if isinstance(block, TextContent)]
    return "\n".join(part.strip() for part in parts if part.strip())


__all__ = [
    "AgentCallError",
    "AgentObserver",
    "AgentRegistry",
    "AgentSpec",
    "ResiliencePolicy",
    "SessionIdTypeError",
    "CircuitOpenError",
]
