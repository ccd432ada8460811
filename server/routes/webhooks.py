"""Admin endpoints of the reply webhooks: failed deliveries (list, send again) and one
request's delivery (what the playground polls)."""

from typing import Any

from fastapi import APIRouter, Query

from server.errors import STORAGE_DOWN, ApiError
from server.routes.dependencies import ServicesDep
from server.schemas import ErrorResponse
from server.storage.backend import STORAGE_ERRORS
from server.webhooks.outbox import Outbox

router = APIRouter(prefix="/webhooks", tags=["admin"])

NOT_FAILED = "No hay una entrega fallida con ese delivery_id"
OFF = "Las respuestas por webhook no están configuradas (REPLY_WEBHOOK_URL)"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


def _outbox(services: ServicesDep) -> Outbox:
    if services.webhooks is None:
        raise ApiError(404, OFF)
    return services.webhooks.outbox


@router.get("/failed", responses=ERRORS)
async def failed(services: ServicesDep, limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    """Deliveries that gave up (WEBHOOK_MAX_ATTEMPTS spent, or a 4xx), oldest first."""
    try:
        rows = await _outbox(services).list_failed(limit)
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    return {"total": len(rows), "failed": rows}


@router.post("/failed/{delivery_id}/retry", responses=ERRORS)
async def retry(delivery_id: str, services: ServicesDep) -> dict[str, Any]:
    """Send a failed delivery again (same delivery_id and body; attempts start over)."""
    try:
        resent = await _outbox(services).resend(delivery_id)
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    if not resent:
        raise ApiError(404, NOT_FAILED)
    assert services.webhooks is not None
    services.webhooks.worker.wake()
    return {"delivery_id": delivery_id, "status": "pending"}


@router.get("/deliveries", responses=ERRORS)
async def deliveries(
    services: ServicesDep, request_id: str = Query(..., min_length=1, max_length=128)
) -> dict[str, Any]:
    """The outbox rows of one asynchronous request (its 202's `request_id`), newest first:
    state (`accepted`, `ready`, `delivered`, `failed`), attempts, last status and the body."""
    try:
        rows = await _outbox(services).by_request(request_id)
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    return {"request_id": request_id, "deliveries": rows}
