"""Everything a request needs, built once in the app's lifespan and closed with it."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from langchain_openai import ChatOpenAI
from langgraph.graph.state import CompiledStateGraph

from graph.agents.registry import AgentRegistry, AgentSpec, ResiliencePolicy
from graph.builder import build_graph
from graph.business_context import BusinessContextClient
from graph.deps import GraphDeps
from server.metrics import Metrics
from server.security.guard import SecurityGuard, open_guard
from server.settings import Settings
from server.storage.backend import CheckpointBackend, open_checkpointer
from server.storage.locks import TurnLocks
from server.storage.sessions import ConversationStore
from server.worker_metrics import WorkerMetrics, open_worker_metrics

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The app's long-lived objects (one set per app instance)."""

    settings: Settings
    metrics: Metrics
    agents: AgentRegistry
    graph: CompiledStateGraph
    backend: CheckpointBackend
    sessions: ConversationStore
    locks: TurnLocks
    security: SecurityGuard
    service_metrics: WorkerMetrics
    """The figures of every uvicorn worker of this run (GET /metrics)."""
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)
    """Turns running on behalf of streams (kept referenced until they finish)."""


def build_model(settings: Settings) -> ChatOpenAI | None:
    """The chat model when routing by model (None routes offline)."""
    if not settings.llm_enabled or settings.OPENAI_API_KEY is None:
        return None
    return ChatOpenAI(
        model=settings.OPENAI_MODEL,
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL,
        timeout=settings.OPENAI_TIMEOUT,
        max_retries=settings.OPENAI_MAX_RETRIES,
        temperature=0,
    )


def build_registry(settings: Settings, metrics: Metrics) -> AgentRegistry:
    """One held MCP connection per enabled agent."""
    urls = settings.agent_urls()
    specs = [
        AgentSpec(name, urls[name], settings.agent_mode(name)) for name in settings.enabled_agents()
    ]
    policy = ResiliencePolicy(
        timeout=settings.MCP_TIMEOUT,
        max_attempts=settings.MCP_MAX_RETRIES,
        backoff=settings.MCP_RETRY_BACKOFF,
        breaker_threshold=settings.MCP_CIRCUIT_BREAKER_FAILURE_THRESHOLD,
        breaker_reset=settings.MCP_CIRCUIT_BREAKER_RESET_TIMEOUT,
    )
    return AgentRegistry(specs, policy, observer=metrics)


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Open the checkpointer, the agents' sessions and the HTTP client; close them on exit."""
    async with AsyncExitStack() as stack:
        metrics = Metrics()
        service_metrics = await stack.enter_async_context(open_worker_metrics(metrics))
        backend = await stack.enter_async_context(open_checkpointer(settings))
        http = await stack.enter_async_context(httpx.AsyncClient())
        contexts = BusinessContextClient(
            settings.CONTEXTO_NEGOCIO_ENDPOINT,
            http=http,
            timeout=settings.CONTEXTO_NEGOCIO_TIMEOUT,
            ttl=settings.CONTEXTO_NEGOCIO_CACHE_TTL,
        )
        agents = build_registry(settings, metrics)
        await agents.start()
        stack.push_async_callback(agents.aclose)
        metrics.breakers = agents.breakers
        deps = GraphDeps(
            agents=agents,
            contexts=contexts,
            model=build_model(settings),
            model_timeout=settings.OPENAI_TIMEOUT,
            max_history_turns=settings.MAX_HISTORY_TURNS,
            agent_max_steps=settings.AGENT_MAX_STEPS,
            events=metrics,
        )
        graph = build_graph(deps, checkpointer=backend.saver)
        sessions = ConversationStore(backend, settings.SESSION_TTL_SECONDS)
        locks = TurnLocks(backend.shared_lock)
        security = await stack.enter_async_context(open_guard(settings, metrics))
        if settings.SESSION_TTL_SECONDS > 0:
            sweeper = asyncio.create_task(
                sessions.run_sweeper(locks, settings.SESSION_SWEEP_INTERVAL), name="ttl-sweeper"
            )
            stack.callback(sweeper.cancel)
        log.info(
            "orchestrator ready",
            extra={
                "agents": agents.names,
                "llm": "openai" if deps.model else "offline",
                "checkpointer": backend.kind,
            },
        )
        yield Services(
            settings=settings,
            metrics=metrics,
            agents=agents,
            graph=graph,
            backend=backend,
            sessions=sessions,
            locks=locks,
            security=security,
            service_metrics=service_metrics,
        )
