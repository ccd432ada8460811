"""Everything a request needs, built once in the app's lifespan and closed with it."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx

from graph.agents.registry import AgentRegistry
from graph.agents.resilience import ResiliencePolicy
from graph.builder import build_graph
from graph.business_context import BusinessContextClient
from graph.deps import GraphDeps
from graph.turn import TurnRunner
from server.agent_settings import timeout_warnings
from server.handoff.service import Handoff, open_handoff
from server.lifecycle.shutdown import Shutdown
from server.model_clients import ModelPool
from server.observability.metrics import Metrics
from server.observability.worker_metrics import WorkerMetrics, open_worker_metrics
from server.security.guard import SecurityGuard
from server.settings import Settings
from server.storage.backend import CheckpointBackend, open_checkpointer
from server.storage.burst_buffer import BurstBuffer, open_burst_buffer
from server.storage.locks import TurnLocks
from server.storage.sessions import ConversationStore
from server.turn.modalidad import ModalidadTable
from server.usage.meter import UsageMeter, open_meter
from server.webhooks.service import Webhooks, open_webhooks

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The app's long-lived objects (one set per app instance)."""

    settings: Settings
    metrics: Metrics
    agents: AgentRegistry
    turns: TurnRunner
    """Runs the graph's turns (the graph's one door)."""
    backend: CheckpointBackend
    sessions: ConversationStore
    locks: TurnLocks
    security: SecurityGuard
    models: ModelPool
    modalidades: ModalidadTable
    shutdown: Shutdown
    service_metrics: WorkerMetrics
    """The figures of every uvicorn worker of this run (GET /metrics)."""
    usage: UsageMeter
    """Tokens, cost and budgets per company (issue 26)."""
    webhooks: Webhooks | None = None
    """Asynchronous turns and their reply webhook (None when no REPLY_WEBHOOK_URL is set)."""
    bursts: BurstBuffer | None = None
    """The burst buffer (DOUBLE_TEXTING=merge only; None otherwise: no table access per turn)."""
    handoff: Handoff | None = None
    """Human handoff (issue 25; None when HANDOFF_ENABLED is off: nothing read per turn)."""


def build_registry(
    settings: Settings, metrics: Metrics, http: httpx.AsyncClient | None = None
) -> AgentRegistry:
    """The roster's enabled agents, each behind its transport and resilience policy."""
    policy = ResiliencePolicy(
        timeout=settings.AGENT_TIMEOUT,
        max_attempts=settings.AGENT_MAX_RETRIES,
        backoff=settings.AGENT_RETRY_BACKOFF,
        breaker_threshold=settings.AGENT_CIRCUIT_BREAKER_FAILURE_THRESHOLD,
        breaker_reset=settings.AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT,
        max_concurrency=settings.AGENT_MAX_CONCURRENCY,
        max_per_company=settings.agent_slots_per_company,
    )
    for warning in timeout_warnings(settings):
        log.warning(warning)
    return AgentRegistry(
        settings.roster,
        policy,
        http=http,
        observer=metrics,
        max_response_bytes=settings.MAX_AGENT_RESPONSE_BYTES,
        probe_interval=settings.AGENT_PROBE_INTERVAL,
    )


def build_deps(
    settings: Settings,
    agents: AgentRegistry,
    models: ModelPool | None,
    contexts: BusinessContextClient | None,
    metrics: Metrics,
) -> GraphDeps:
    """What the graph's nodes are given."""
    return GraphDeps(
        agents=agents,
        contexts=contexts,
        models=models,
        model_timeout=settings.OPENAI_TIMEOUT,
        max_history_turns=settings.MAX_HISTORY_TURNS,
        max_reply_chars=settings.MAX_REPLY_CHARS,
        max_url_chars=settings.MAX_URL_CHARS,
        max_turn_text_chars=settings.MERGE_MAX_CHARS,
        events=metrics,
    )


@asynccontextmanager
async def open_services(
    settings: Settings, metrics: Metrics, security: SecurityGuard
) -> AsyncIterator[Services]:
    """Open the checkpointer, the agents' sessions and the HTTP client; close them on exit."""
    async with AsyncExitStack() as stack:
        service_metrics = await stack.enter_async_context(open_worker_metrics(metrics))
        backend = await stack.enter_async_context(open_checkpointer(settings))
        http = await stack.enter_async_context(httpx.AsyncClient())
        agent_http = await stack.enter_async_context(
            httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=50))
        )
        contexts = BusinessContextClient(
            settings.CONTEXTO_NEGOCIO_ENDPOINT,
            http=http,
            timeout=settings.CONTEXTO_NEGOCIO_TIMEOUT,
            ttl=settings.CONTEXTO_NEGOCIO_CACHE_TTL,
            failure_ttl=settings.CONTEXTO_NEGOCIO_FAILURE_TTL,
        )
        agents = build_registry(settings, metrics, agent_http)
        await agents.start()
        stack.push_async_callback(agents.aclose)
        metrics.watch_breakers(agents.breakers)
        models = ModelPool(settings)
        deps = build_deps(settings, agents, models, contexts, metrics)
        graph = build_graph(deps, checkpointer=backend.saver)
        sessions = ConversationStore(
            backend, settings.SESSION_TTL_SECONDS, adopt=settings.SESSION_SCOPE == "company"
        )
        usage = await stack.enter_async_context(open_meter(settings, backend.usage, metrics))
        locks = TurnLocks(backend.shared_lock)
        bursts = None
        if settings.DOUBLE_TEXTING == "merge":
            bursts = await stack.enter_async_context(
                open_burst_buffer(backend.pool, settings.CHECKPOINT_DB)
            )
        if settings.SESSION_TTL_SECONDS > 0:
            sweeper = asyncio.create_task(
                sessions.run_sweeper(locks, settings.SESSION_SWEEP_INTERVAL), name="ttl-sweeper"
            )
            stack.callback(sweeper.cancel)
        shutdown = Shutdown(settings.SHUTDOWN_GRACE_SECONDS)
        webhooks = await stack.enter_async_context(
            open_webhooks(settings, metrics, backend, lambda: shutdown.draining)
        )
        turns = TurnRunner(
            graph,
            max_agent_steps=settings.AGENT_MAX_STEPS,
            max_history_turns=settings.MAX_HISTORY_TURNS,
        )
        handoff = await stack.enter_async_context(
            open_handoff(
                settings,
                backend,
                turns,
                metrics,
                webhooks.outbox if webhooks is not None else None,
                webhooks.worker.wake if webhooks is not None else None,
            )
        )
        log.info(
            "orchestrator ready",
            extra={
                "agents": agents.names,
                "llm": "openai" if models.server_model else "offline",
                "checkpointer": backend.kind,
            },
        )
        yield Services(
            settings=settings,
            metrics=metrics,
            agents=agents,
            turns=turns,
            backend=backend,
            sessions=sessions,
            locks=locks,
            security=security,
            models=models,
            modalidades=ModalidadTable(settings.MODALIDAD_AGENTS, settings.roster),
            shutdown=shutdown,
            service_metrics=service_metrics,
            usage=usage,
            webhooks=webhooks,
            bursts=bursts,
            handoff=handoff,
        )
