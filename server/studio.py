"""LangGraph Studio entry point (`langgraph.json`): the server's own graph, built from Settings."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from langgraph.graph.state import CompiledStateGraph
from langgraph_sdk.runtime import ServerRuntime

from graph.builder import build_graph
from graph.business_context import BusinessContextClient
from server.model_clients import ModelPool
from server.observability.metrics import Metrics
from server.services import build_deps, build_registry
from server.settings import Settings, load_settings
from server.turn.modalidad import normalize

CONNECT_WAIT = 5.0
"""Seconds a Studio run waits for the agents' MCP sessions before the graph starts."""


@asynccontextmanager
async def open_studio_graph(
    settings: Settings, *, execute: bool
) -> AsyncIterator[CompiledStateGraph]:
    """The graph exactly as the server builds it, but without a checkpointer (the API server
    brings its own). Agent connections are opened only when the graph will `execute`, and are
    closed on exit."""
    metrics = Metrics(
        agent_names=settings.roster.all_names,
        modalidad_keys=frozenset(map(normalize, settings.MODALIDAD_AGENTS)),
    )
    http = await asyncio.to_thread(httpx.AsyncClient)
    agents = build_registry(settings, metrics, http)
    # Same topology either way; the models (httpx/SSL set-up: off the loop) only when running.
    models = await asyncio.to_thread(ModelPool, settings) if execute else None
    try:
        contexts = BusinessContextClient(
            settings.CONTEXTO_NEGOCIO_ENDPOINT,
            http=http,
            timeout=settings.CONTEXTO_NEGOCIO_TIMEOUT,
            ttl=settings.CONTEXTO_NEGOCIO_CACHE_TTL,
        )
        deps = build_deps(settings, agents, models, contexts, metrics)
        if execute:
            await agents.start()
            await agents.wait_connected(min(settings.AGENT_TIMEOUT, CONNECT_WAIT))
        yield build_graph(deps)
    finally:
        await agents.aclose()
        await http.aclose()


@asynccontextmanager
async def make_graph(runtime: ServerRuntime) -> AsyncIterator[CompiledStateGraph]:
    """The factory named in `langgraph.json`; the server calls it per access (runs, schema read)."""
    # reads `.env` off the event loop; a SettingsError (a ValueError) is the graph's error in
    # Studio, with the same lines the server prints before it exits with code 3
    settings = await asyncio.to_thread(load_settings)
    async with open_studio_graph(settings, execute=runtime.execution_runtime is not None) as graph:
        yield graph
