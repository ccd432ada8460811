"""One chat turn: lock the session, run it through the turn API, map it to the API and metrics."""

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from graph.bot_config import BotConfig
from graph.context import TurnContext
from graph.turn import TurnEvents
from graph.usage import TurnUsage
from server.conversations.keys import conversation_key
from server.errors import BUSY, STORAGE_DOWN, ApiError, error_id
from server.handoff.service import Handoff
from server.observability.request_ids import current_request_id
from server.observability.tracing import turn_trace
from server.schemas import SESSION_EMPTY, ChatRequest, ChatResponse
from server.services import Services
from server.storage.backend import STORAGE_ERRORS, STORAGE_REJECTED
from server.storage.locks import SessionLockTimeout
from server.turn.secrets import masked_in_logs
from server.turn.session_ids import session_ref
from server.usage.meter import Key, TurnCost

log = logging.getLogger(__name__)

NO_KEY = "OPENAI_API_KEY no configurada"
MODALIDAD_EMPTY = SESSION_EMPTY.replace("session_id", "config.modalidad")
MODALIDAD_UNKNOWN = "Modalidad no reconocida: {value}"
IN_FLIGHT = "Hay un mensaje en curso para esta conversación"
"""DOUBLE_TEXTING=reject: the 409 of a message whose conversation's turn is in flight."""
REJECT_WAIT = 0.05
"""Seconds a message waits for its conversation's lock before `reject` refuses it (a turn that
is ending releases it within this)."""


def check_request(request: ChatRequest, services: Services) -> None:
    """The errors a turn answers before it starts: no model key, a modalidad `direct` needs."""
    settings = services.settings
    no_key = settings.OPENAI_API_KEY is None and request.company_key is None
    if settings.LLM_MODE == "openai" and no_key:
        raise ApiError(500, NO_KEY)
    if settings.ROUTING_MODE == "direct":
        value = request.config.modalidad
        if value is None or not value.strip():
            raise ApiError(400, MODALIDAD_EMPTY)
        if services.modalidades.resolve(value).key is None:
            raise ApiError(400, MODALIDAD_UNKNOWN.format(value=value))


def turn_context(request: ChatRequest, services: Services, deadline: float) -> TurnContext:
    """The runtime context of one turn: the client's config and the turn's limits."""
    config = request.config.model_dump(mode="json", exclude_unset=True)
    config["id_empresa"] = request.company  # the winning id, for every agent and prompt
    modalidad = services.modalidades.resolve(request.config.modalidad)
    direct = services.settings.ROUTING_MODE == "direct"
    if modalidad.key is None and not direct:
        services.metrics.modalidad_unrecognized()
    allowed: tuple[str, ...] | None = (modalidad.agent,) if modalidad.agent else None
    if direct and modalidad.agent is None:  # its agent is not enabled: the fallback, no other
        log.warning("the modalidad's agent is not enabled", extra={"modalidad": modalidad.key})
        allowed = ()
    return TurnContext(
        bot_config=BotConfig.from_mapping(config),
        session_id=request.session_key,
        id_empresa=request.company,
        api_key=request.company_key,
        request_id=current_request_id.get(),
        allowed_agents=allowed,
        modalidad=modalidad.key,
        direct=direct,
        deadline=deadline,
    )


def turn_conversation(request: ChatRequest, services: Services) -> str:
    """The key of the turn's conversation: (company, session id), or the bare id when global."""
    return conversation_key(request.company, request.session_key, services.settings.SESSION_SCOPE)


async def run_turn(
    request: ChatRequest,
    services: Services,
    events: TurnEvents | None = None,
    timeout: float | None = None,
    *,
    messages: Sequence[str] | None = None,
    reject_busy: bool = False,
) -> ChatResponse:
    """Run one turn and record it in the metrics; errors become ApiError with Spanish details.

    `timeout` is the turn's deadline in seconds (TURN_TIMEOUT when None; asynchronous turns
    pass ASYNC_TURN_TIMEOUT). `messages` are the turn's customer messages in arrival order (a
    merged burst; the request's own message when None). With `reject_busy` a conversation whose
    turn is in flight is answered 409 at once instead of waiting for it."""
    with masked_in_logs(request.company_key):
        return await _run_turn(
            request,
            services,
            events,
            timeout,
            [request.message] if messages is None else messages,
            reject_busy,
        )


async def _run_turn(
    request: ChatRequest,
    services: Services,
    events: TurnEvents | None,
    timeout: float | None,
    messages: Sequence[str],
    reject_busy: bool,
) -> ChatResponse:
    started = time.perf_counter()
    status, response = 500, None
    settings = services.settings
    usage, key = TurnUsage(), services.usage.key_of(request.company_key)
    held = False
    conversation = turn_conversation(request, services)
    turn_timeout = settings.TURN_TIMEOUT if timeout is None else timeout
    lock_wait = REJECT_WAIT if reject_busy else settings.SESSION_LOCK_TIMEOUT
    try:
        check_request(request, services)
        async with services.locks.hold(conversation, lock_wait):
            deadline = time.monotonic() + turn_timeout
            held = await services.usage.held_offline(key, request.company)
            context = replace(turn_context(request, services, deadline), usage=usage, offline=held)
            if services.backend.health is not None:
                services.backend.health.require_file()  # never write into a deleted SQLite file
            await services.sessions.adopt_if_new(conversation)
            await services.sessions.expire_if_idle(conversation)
            with turn_trace(request, settings, conversation) as trace:
                handoff = services.handoff
                if handoff is not None and await handoff.holding(
                    request.company, request.session_key
                ):
                    response = await _for_the_person(request, handoff, conversation, messages)
                else:
                    result = await services.turns.run(conversation, messages, context, events)
                    response = ChatResponse(
                        reply=result.reply,
                        session_id=request.session_id,
                        agent_used=result.agent,
                        action=result.action,
                        url=result.url,
                    )
                    if handoff is not None:  # an escalation hands the conversation to a person
                        response.handoff = result.intent == "escalation"
                        if response.handoff:
                            await handoff.start(
                                request.company,
                                request.session_key,
                                request.session_id,
                                "escalation",
                            )
                turn_cost = _cost(services, usage, key, request, response, held)
                trace.finish(response, usage=turn_cost.fields())
            services.sessions.stored(conversation)
        status = 200
        return response
    except SessionLockTimeout:
        status = 409
        if reject_busy:
            services.metrics.bursts.rejection()
            raise ApiError(409, IN_FLIGHT) from None
        raise ApiError(409, BUSY) from None
    except STORAGE_ERRORS as exc:
        status = 503
        log.warning("conversation storage unavailable", extra={"error": type(exc).__name__})
        raise ApiError(503, STORAGE_DOWN) from None
    except ApiError as exc:
        status = exc.status_code
        raise
    except STORAGE_REJECTED as exc:  # never the driver's text: it may quote the row
        ref = error_id()
        log.error(
            "turn failed: storage refused the checkpoint",
            extra={
                "session": session_ref(conversation),
                "error_id": ref,
                "error": type(exc).__name__,
                "sqlstate": getattr(exc, "sqlstate", None),
            },
        )
        raise ApiError(500, f"Error interno del servidor (id: {ref})") from None
    except Exception as exc:
        ref = error_id()
        log.error(
            "turn failed",
            exc_info=exc,
            extra={"session": session_ref(conversation), "error_id": ref},
        )
        raise ApiError(500, f"Error interno del servidor (id: {ref})") from None
    finally:
        cost = _cost(services, usage, key, request, response, held)
        elapsed = time.perf_counter() - started
        services.metrics.turn(
            action=response.action if response else None,
            agent=response.agent_used if response else None,
            status=status,
            seconds=elapsed,
        )
        log.info(
            "turn",
            extra={
                "session": session_ref(conversation),
                "status": status,
                "action": response.action if response else None,
                "agent_used": response.agent_used if response else None,
                "id_empresa": request.company,
                "latency_ms": round(elapsed * 1000, 1),
                **cost.fields(),
                "budget_exceeded": held,
            },
        )
        if response is not None or usage.models or usage.agents:  # spent tokens count too
            # shielded: a turn cancelled by its client still adds what it spent
            await asyncio.shield(services.usage.record(cost, request.company))


async def _for_the_person(
    request: ChatRequest, handoff: Handoff, thread: str, messages: Sequence[str]
) -> ChatResponse:
    """A person holds the conversation (checkpoint thread `thread`): the turn's messages are
    stored for them, in order, and nothing is answered."""
    for message in messages:
        await handoff.store_customer(
            request.company, request.session_key, request.session_id, message, thread=thread
        )
    return ChatResponse(
        reply="",
        session_id=request.session_id,
        agent_used=None,
        action="human",
        url=None,
        handoff=True,
    )


def _cost(
    services: Services,
    usage: TurnUsage,
    key: Key,
    request: ChatRequest,
    outcome: Any,
    held: bool,
) -> TurnCost:
    """The turn's tokens and cost (from the final state or the response)."""
    action: str | None
    agent: str | None
    if isinstance(outcome, ChatResponse):
        action, agent = outcome.action, outcome.agent_used
    else:
        action = agent = None
    return services.usage.cost(
        usage, key=key, company=request.company, action=action, agent=agent, held=held
    )
