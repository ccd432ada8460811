"""Service info, liveness, readiness and metrics."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from server.lifecycle.shutdown import NOT_READY
from server.routes.dependencies import ServicesDep
from server.schemas import ErrorResponse

router = APIRouter(tags=["service"])
VERSION = "0.3.0"


@router.get("/")
async def root() -> dict[str, Any]:
    """Service name, version and the main endpoints."""
    return {
        "service": "MaravIA Orquestador",
        "version": VERSION,
        "status": "running",
        "features": [
            "langgraph-router",
            "mcp-agents",
            "checkpointed-sessions",
            "circuit-breaker",
            "offline-router",
            "business-context-cache",
        ],
        "endpoints": {
            "chat": "/api/agent/chat",
            "config": "/config",
            "health": "/health",
            "metrics": "/metrics",
            "memory_stats": "/memory/stats",
            "clear_memory": "/memory/clear/{session_id}",
            "docs": "/docs",
            "redoc": "/redoc",
            "ready": "/ready",
        },
        "info": "Orquestador de conversaciones: responde o delega en agentes especialistas "
        "(MCP o HTTP).",
    }


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: answers without touching the model, the agents or the database."""
    return {"status": "ok", "service": "orquestador"}


@router.get("/ready", responses={503: {"model": ErrorResponse}})
async def ready(services: ServicesDep) -> JSONResponse:
    """Readiness: 200 only when the storage can be written and the service is not stopping;
    every agent's state in the body (an agent down does not take the service out of rotation:
    its turns get fallbacks)."""
    if services.shutdown.draining:
        return JSONResponse({"detail": NOT_READY}, status_code=503)
    agents = await services.agents.states()
    if await services.backend.ping():
        body = {"status": "ready", "checkpointer": services.backend.kind, "agents": agents}
        return JSONResponse(body)
    return JSONResponse(
        {"detail": "El almacenamiento de conversaciones no responde", "agents": agents},
        status_code=503,
    )


@router.get("/metrics")
async def metrics(services: ServicesDep) -> dict[str, Any]:
    """Request counts, latency percentiles, breakers and fallbacks of every worker (JSON)."""
    return {
        **await services.service_metrics.snapshot(),
        "rate_limit_storage": services.security.limiter.store.snapshot(),  # this worker's
    }


@router.get("/metrics/prometheus", response_class=PlainTextResponse)
async def metrics_prometheus(services: ServicesDep) -> Response:
    """The same figures in the Prometheus text exposition format (every worker summed)."""
    body = await services.service_metrics.exposition()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
