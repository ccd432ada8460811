"""POST /api/agent/chat: one turn of a conversation."""

from typing import Any

from fastapi import APIRouter
from sse_starlette.sse import EventSourceResponse

from server.routes.dependencies import ServicesDep
from server.schemas import ChatRequest, ChatResponse, ErrorResponse, MergedResponse
from server.turn.bursts import answer_message
from server.turn.streaming import stream_turn
from server.turn.turns import check_request

router = APIRouter(prefix="/api/agent", tags=["chat"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    500: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}
SSE_EVENT = {
    "type": "object",
    "description": "One Server-Sent Event",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}


@router.post(
    "/chat",
    response_model=ChatResponse | MergedResponse,
    responses=ERRORS,
)
async def chat(body: ChatRequest, services: ServicesDep) -> ChatResponse | MergedResponse:
    """Answer one customer message: the orchestrator replies or delegates to an agent (or, with
    DOUBLE_TEXTING=merge, answers `merged` when a later message joined its burst)."""
    services.shutdown.admit()
    await services.security.admit_turn(body)
    return await services.shutdown.spawn(answer_message(body, services))


@router.post(
    "/chat/stream",
    responses={
        **ERRORS,
        200: {
            "description": "Server-Sent Events: routing, delegating, token…, then done (or error)",
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
    },
)
async def chat_stream(body: ChatRequest, services: ServicesDep) -> EventSourceResponse:
    """The same turn as /chat, streamed: progress events, the reply in tokens, then `done`."""
    services.shutdown.admit()
    await services.security.admit_turn(body)
    check_request(body, services)
    return EventSourceResponse(stream_turn(body, services), ping=15)
