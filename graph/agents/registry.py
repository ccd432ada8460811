"""The agents the graph may call: one transport each (MCP or HTTP) behind one resilient API."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Literal, Protocol

import httpx
from langchain_core.tools import BaseTool
from langchain_mcp_adapters.interceptors import MCPToolCallRequest
from langchain_mcp_adapters.tools import convert_mcp_tool_to_langchain_tool
from mcp.types import CallToolResult, TextContent

from common.breaker import CircuitOpenError
from graph.agents.bounded_body import DEFAULT_LIMIT
from graph.agents.company_slots import Company, CompanySlots
from graph.agents.http import HttpTransport
from graph.agents.mcp import CHAT_TOOL, McpTransport
from graph.agents.probes import ProbeCache
from graph.agents.resilience import AgentGuard, ResiliencePolicy
from graph.agents.roster import AgentSpec, Roster
from graph.agents.transport import (
    AgentCall,
    AgentError,
    AgentHealth,
    AgentReply,
    AgentTransport,
)

log = logging.getLogger(__name__)

TOOL_UNAVAILABLE = "El servicio no está disponible en este momento."


class AgentObserver(Protocol):
    """Receives one event per agent call (for metrics)."""

    def agent_call(self, agent: str, ok: bool, seconds: float, reason: str | None) -> None: ...


class AgentRegistry:
    """Owns the enabled agents' transports (started in the app's lifespan) and guards each call."""

    def __init__(
        self,
        roster: Roster,
        policy: ResiliencePolicy,
        http: httpx.AsyncClient | None = None,
        observer: AgentObserver | None = None,
        *,
        max_response_bytes: int = DEFAULT_LIMIT,
        probe_interval: float = 5.0,
        transports: Mapping[str, AgentTransport] | None = None,
    ) -> None:
        """`transports` replaces the transport built from a spec, by agent name (the fast tests'
        in-process agents); every call still goes through the same guard."""
        self.roster = roster
        self._observer = observer
        self._http = http or httpx.AsyncClient()
        self._owns_http = http is None
        given = transports or {}
        self._specs = {spec.name: spec for spec in roster.enabled}
        self._agents: dict[str, AgentTransport] = {
            spec.name: given.get(spec.name)
            or _transport(spec, _policy(policy, spec), self._http, max_response_bytes)
            for spec in roster.enabled
        }
        self._guards = {
            spec.name: AgentGuard(_policy(policy, spec), spec.name) for spec in roster.enabled
        }
        self._probes = ProbeCache(probe_interval)
        self._lc_tools: dict[str, tuple[int, list[BaseTool]]] = {}

    @property
    def names(self) -> tuple[str, ...]:
        """The agents that may be routed to (the enabled ones), in the roster's order."""
        return tuple(self._agents)

    def breakers(self) -> dict[str, dict[str, object]]:
        """Each enabled agent's breaker state and consecutive failures (for /metrics)."""
        return {name: guard.breaker.snapshot() for name, guard in self._guards.items()}

    def slots(self, name: str) -> CompanySlots:
        """The agent's concurrency slots, who holds them and who waits (diagnostics, tests)."""
        return self._guards[name].slots

    async def start(self) -> None:
        """Start every transport (MCP agents connect in the background)."""
        for agent in self._agents.values():
            await agent.start()

    async def aclose(self) -> None:
        """Close every transport (each MCP session in its own task) and an owned HTTP client."""
        for agent in self._agents.values():
            await agent.aclose()
        if self._owns_http:
            await self._http.aclose()

    async def wait_connected(self, timeout: float) -> bool:
        """Wait until every MCP agent is connected (tests, Studio); False on timeout."""
        deadline = time.monotonic() + timeout
        sessions = [a.session for a in self._agents.values() if isinstance(a, McpTransport)]
        while time.monotonic() < deadline:
            if all(session.connected for session in sessions):
                return True
            await asyncio.sleep(0.05)
        return False

    def resolved_mode(self, name: str, *, model: bool = True) -> Literal["chat", "tools"]:
        """How a turn talks to the agent: `tools` only for an MCP tool server and a model."""
        agent = self._agents[name]
        if not model or not isinstance(agent, McpTransport):
            return "chat"
        return agent.resolved_mode()

    async def states(self) -> dict[str, AgentHealth]:
        """Every roster agent's state for /ready: ok, circuit_open, unreachable or disabled."""

        async def one(name: str) -> AgentHealth:
            agent = self._agents.get(name)
            if agent is None:
                return "disabled"
            if self._guards[name].breaker.state == "open":
                return "circuit_open"
            return "ok" if await self._probes.get(name, agent.reachable) else "unreachable"

        names = self.roster.all_names
        return dict(zip(names, await asyncio.gather(*(one(n) for n in names)), strict=True))

    async def chat(self, name: str, call: AgentCall, *, deadline: float | None) -> AgentReply:
        """The conversational path: one guarded call (safe retries only)."""
        agent = self._agents[name]
        return await self._guarded(
            name,
            lambda timeout: agent.chat(call, timeout),
            deadline=deadline,
            idempotent=False,
            company=call.id_empresa,
        )

    def spec(self, name: str) -> AgentSpec | None:
        """An enabled agent's spec (None when it is not enabled)."""
        return self._specs.get(name)

    def timeout(self, name: str) -> float:
        """An enabled agent's per-attempt timeout (AGENT_<KEY>_TIMEOUT, else AGENT_TIMEOUT)."""
        return self._guards[name].policy.timeout

    async def send(self, name: str, call: AgentCall, *, deadline: float | None) -> AgentReply:
        """A message of the service's own (a clear command): retried like an idempotent call."""
        agent = self._agents[name]
        return await self._guarded(
            name, lambda timeout: agent.chat(call, timeout), deadline=deadline, idempotent=True
        )

    async def call_tool(
        self,
        name: str,
        tool: str,
        args: dict[str, Any],
        *,
        deadline: float | None,
        company: Company = None,
    ) -> CallToolResult:
        """One domain tool of an MCP tool server; retried after sending only if idempotent."""
        agent = self._agents[name]
        assert isinstance(agent, McpTransport)
        spec = agent.tools.get(tool)
        idempotent = bool(spec and spec.annotations and spec.annotations.idempotentHint)
        return await self._guarded(
            name,
            lambda timeout: agent.call_tool(tool, args, timeout),
            deadline=deadline,
            idempotent=idempotent,
            company=company,
        )

    async def _guarded(
        self,
        name: str,
        attempt: Callable[[float], Awaitable[Any]],
        *,
        deadline: float | None,
        idempotent: bool,
        company: Company = None,
    ) -> Any:
        started = time.perf_counter()
        guard = self._guards[name]
        try:
            result = await guard.run(
                attempt, deadline=deadline, idempotent=idempotent, company=company
            )
        except CircuitOpenError:
            self._observe(name, False, started, "circuit_open")
            raise
        except AgentError as exc:
            self._observe(name, False, started, exc.reason)
            raise
        self._observe(name, True, started, None)
        return result

    def langchain_tools(self, name: str) -> list[BaseTool]:
        """The MCP agent's domain tools for a tool-calling model (converted once per session)."""
        agent = self._agents.get(name)
        if not isinstance(agent, McpTransport) or agent.session.session is None:
            return []
        session = agent.session
        cached = self._lc_tools.get(name)
        if cached is None or cached[0] != session.generation:
            chat_tool = agent.chat_tool() or CHAT_TOOL
            tools = [
                convert_mcp_tool_to_langchain_tool(
                    session.session,
                    tool,
                    tool_interceptors=[_GuardedInterceptor(self, name)],
                    server_name=name,
                    handle_tool_errors=True,
                )
                for tool in agent.tools.values()
                if tool.name != chat_tool
            ]
            self._lc_tools[name] = cached = (session.generation, tools)
        return cached[1]

    def _observe(self, name: str, ok: bool, started: float, reason: str | None) -> None:
        if self._observer is not None:
            self._observer.agent_call(name, ok, time.perf_counter() - started, reason)


def _policy(policy: ResiliencePolicy, spec: AgentSpec) -> ResiliencePolicy:
    """The global policy with the agent's own timeout and retry widening."""
    return replace(policy, timeout=spec.timeout or policy.timeout, retry_on=spec.retry_on)


def _transport(
    spec: AgentSpec, policy: ResiliencePolicy, http: httpx.AsyncClient, max_response_bytes: int
) -> AgentTransport:
    """The transport a spec declares: an MCP session or a POST on the shared HTTP client."""
    if spec.transport == "mcp":
        return McpTransport(spec, min(policy.timeout, 10), http, max_response_bytes)
    return HttpTransport(spec, http, max_response_bytes)


class _GuardedInterceptor:
    """Routes a LangChain MCP tool call through the registry (current session + resilience)."""

    def __init__(self, registry: AgentRegistry, name: str) -> None:
        self._registry = registry
        self._name = name

    async def __call__(
        self,
        request: MCPToolCallRequest,
        handler: Callable[[MCPToolCallRequest], Awaitable[Any]],
    ) -> CallToolResult:
        try:
            context = getattr(request.runtime, "context", None)  # the turn's TurnContext
            return await self._registry.call_tool(
                self._name,
                request.name,
                request.args,
                deadline=None,
                company=getattr(context, "id_empresa", None),
            )
        except (CircuitOpenError, AgentError) as exc:  # the model sees a plain error result
            log.warning(
                "agent tool call failed",
                extra={"agent": self._name, "tool": request.name, "error": type(exc).__name__},
            )
            return CallToolResult(
                isError=True, content=[TextContent(type="text", text=TOOL_UNAVAILABLE)]
            )


__all__ = ["AgentObserver", "AgentRegistry"]
