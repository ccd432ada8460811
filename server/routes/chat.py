"""POST /api/agent/chat: one turn of a conversation."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse

from server.errors import ApiError
from server.routes.dependencies import ServicesDep
from server.schemas import (
    AcceptedResponse,
    ChatRequest,
    ChatResponse,
    ErrorResponse,
    MergedResponse,
)
from server.services import Services
from server.turn.bursts import answer_message
from server.turn.streaming import stream_turn
from server.turn.turns import check_request
from server.webhooks.async_turns import NO_WEBHOOK
from server.webhooks.prefer import RESPOND_ASYNC, wants_async

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
    responses={
        **ERRORS,
        202: {
            "model": AcceptedResponse,
            "description": "With `Prefer: respond-async`: accepted; the reply is delivered to "
            "the reply webhook (`Preference-Applied: respond-async`)",
        },
    },
)
async def chat(
    body: ChatRequest, services: ServicesDep, request: Request
) -> ChatResponse | MergedResponse | JSONResponse:
    """Answer one customer message: the orchestrator replies or delegates to an agent (or, with
    DOUBLE_TEXTING=merge, answers `merged` when a later message joined its burst).

    With `Prefer: respond-async` the turn is accepted (202) and its reply is delivered to the
    reply webhook instead."""
    if wants_async(request.headers.getlist("prefer")):
        return await _accept_async(body, services, request)
    services.shutdown.admit()
    await services.security.admit_turn(body, request.scope)
    return await services.shutdown.spawn(answer_message(body, services))


async def _accept_async(body: ChatRequest, services: Services, request: Request) -> JSONResponse:
    """Validate as a synchronous turn, write it to the outbox, answer 202; the turn runs on."""
    webhooks = services.webhooks
    if webhooks is None or services.settings.reply_webhook_url(body.company) is None:
        raise ApiError(400, NO_WEBHOOK)
    services.shutdown.admit()
    await services.security.admit_turn(body, request.scope)
    check_request(body, services)
    timeout = services.settings.ASYNC_TURN_TIMEOUT
    accepted = await webhooks.turns.accept(
        body,
        lambda: answer_message(body, services, timeout=timeout),
        services.shutdown.spawn,
        chained=services.settings.DOUBLE_TEXTING != "merge",
    )
    return JSONResponse(
        {"status": "processing", "session_id": body.session_id, "request_id": accepted.request_id},
        status_code=202,
        headers={"Preference-Applied": RESPOND_ASYNC},
    )


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
async def chat_stream(
    body: ChatRequest, services: ServicesDep, request: Request
) -> EventSourceResponse:
    """The same turn as /chat, streamed: progress events, the reply in tokens, then `done`.

    `Prefer: respond-async` is ignored here (RFC 7240 lets a server ignore a preference; no
    `Preference-Applied`): a stream is the live answer."""
    services.shutdown.admit()
    await services.security.admit_turn(body, request.scope)
    check_request(body, services)
    return EventSourceResponse(stream_turn(body, services), ping=15)
