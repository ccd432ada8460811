"""Service info, liveness, readiness and metrics."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

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
        "info": "Orquestador de conversaciones: responde o delega en agentes MCP "
        "(reserva, cita, venta).",
    }


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: answers without touching the model, the agents or the database."""
    return {"status": "ok", "service": "orquestador"}


@router.get("/ready", responses={503: {"model": ErrorResponse}})
async def ready(services: ServicesDep) -> JSONResponse:
    """Readiness: 200 only when the checkpointer answers."""
    if await services.backend.ping():
        return JSONResponse({"status": "ready", "checkpointer": services.backend.kind})
    return JSONResponse(
        {"detail": "El almacenamiento de conversaciones no responde"}, status_code=503
    )


@router.get("/metrics")
async def metrics(services: ServicesDep) -> dict[str, Any]:
    """Request counts, latency percentiles, breakers and fallbacks of every worker (JSON)."""
    return await services.service_metrics.snapshot()


@router.get("/metrics/prometheus", response_class=PlainTextResponse)
async def metrics_prometheus(services: ServicesDep) -> Response:
    """The same figures in the Prometheus text exposition format (every worker summed)."""
    body = await services.service_metrics.exposition()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
