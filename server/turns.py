"""One chat turn: lock the session, run the graph under the turn's deadline, map it to the API."""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from graph.context import TurnContext
from graph.nodes.responder import ORCHESTRATOR
from graph.phrases import fallback_phrase
from server.answer_tokens import answer_token
from server.conversations import conversation_key
from server.errors import BUSY, STORAGE_DOWN, ApiError, error_id
from server.request_ids import current_request_id
from server.schemas import SESSION_EMPTY, ChatRequest, ChatResponse
from server.services import Services
from server.session_ids import session_ref
from server.storage.backend import STORAGE_ERRORS, STORAGE_REJECTED
from server.storage.locks import SessionLockTimeout
from server.tracing import turn_trace
from server.turn_secrets import masked_in_logs

log = logging.getLogger(__name__)

NO_KEY = "OPENAI_API_KEY no configurada"
MODALIDAD_EMPTY = SESSION_EMPTY.replace("session_id", "config.modalidad")
MODALIDAD_UNKNOWN = "Modalidad no reconocida: {value}"
DEADLINE_MARGIN = 5.0
"""Seconds past TURN_TIMEOUT after which the whole graph run is abandoned (a safety net: every
model and agent call already ends by the deadline)."""

TurnEvents = Callable[[str, dict[str, Any]], None]
"""Receives progress events of a turn: ("delegating", {"agent": name}), ("token", {"text": …})."""


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
    modalidad = services.modalidades.resolve(config.get("modalidad"))
    direct = services.settings.ROUTING_MODE == "direct"
    if modalidad.key is None and not direct:
        services.metrics.modalidad_unrecognized()
    allowed: tuple[str, ...] | None = (modalidad.agent,) if modalidad.agent else None
    if direct and modalidad.agent is None:  # its agent is not enabled: the fallback, no other
        log.warning("the modalidad's agent is not enabled", extra={"modalidad": modalidad.key})
        allowed = ()
    return TurnContext(
        bot_config=config,
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


def run_config(request: ChatRequest, services: Services) -> RunnableConfig:
    """The LangGraph run config of a turn (thread = conversation; trace metadata; step budget)."""
    conversation = turn_conversation(request, services)
    return {
        "configurable": {"thread_id": conversation},
        "metadata": {"thread_id": conversation, "request_id": current_request_id.get()},
        "run_name": "chat_turn",
        "recursion_limit": 2 * services.settings.AGENT_MAX_STEPS + 6,
    }


async def _run_graph(
    request: ChatRequest, services: Services, context: TurnContext, events: TurnEvents | None
) -> dict[str, Any]:
    """Invoke the graph for one turn (one checkpoint at exit), reporting progress to `events`."""
    graph_input = {"messages": [HumanMessage(request.message)]}
    config = run_config(request, services)
    graph = services.graph
    if events is None:
        return await graph.ainvoke(graph_input, config, context=context, durability="exit")
    state: dict[str, Any] = {}
    async for item in graph.astream(
        graph_input,
        config,
        context=context,
        stream_mode=["updates", "values", "messages"],
        subgraphs=True,  # the tool loop's model runs inside an agent subgraph
        durability="exit",
    ):
        # with subgraphs=True and a list of modes each item is (namespace, mode, chunk);
        # langgraph types it as `dict[str, Any] | Any`
        namespace, mode, chunk = cast(tuple[tuple[str, ...], str, Any], item)
        if mode == "messages":
            if text := answer_token(*chunk):
                events("token", {"text": text})
            continue
        if namespace:  # progress and state come from the top-level graph only
            continue
        if mode == "values":
            state = chunk
            continue
        decision = (chunk.get("router") or {}).get("decision") or {}
        if decision.get("action") == "delegate":
            events("delegating", {"agent": decision.get("agent")})
    return state


async def _timed_out(
    request: ChatRequest, services: Services, context: TurnContext
) -> dict[str, Any]:
    """The turn ran past its deadline: answer the fallback phrase and store the turn as such."""
    services.metrics.turn_timeout()
    reply = fallback_phrase(context.bot_config)
    state: dict[str, Any] = {"reply": reply, "action": "respond", "agent_used": None, "url": None}
    update = {
        **state,
        "messages": [HumanMessage(request.message), AIMessage(reply, name=ORCHESTRATOR)],
        "decision": None,
        "agent_result": None,
    }
    await services.graph.aupdate_state(run_config(request, services), update, as_node="responder")
    return state


async def run_turn(
    request: ChatRequest, services: Services, events: TurnEvents | None = None
) -> ChatResponse:
    """Run one turn and record it in the metrics; errors become ApiError with Spanish details."""
    with masked_in_logs(request.company_key):
        return await _run_turn(request, services, events)


async def _run_turn(
    request: ChatRequest, services: Services, events: TurnEvents | None
) -> ChatResponse:
    started = time.perf_counter()
    status, response = 500, None
    settings = services.settings
    conversation = turn_conversation(request, services)
    try:
        check_request(request, services)
        async with services.locks.hold(conversation, settings.SESSION_LOCK_TIMEOUT):
            deadline = time.monotonic() + settings.TURN_TIMEOUT
            context = turn_context(request, services, deadline)
            if services.backend.health is not None:
                services.backend.health.require_file()  # never write into a deleted SQLite file
            await services.sessions.adopt_if_new(conversation)
            await services.sessions.expire_if_idle(conversation)
            with turn_trace(request, settings, conversation) as trace:
                try:
                    async with asyncio.timeout(settings.TURN_TIMEOUT + DEADLINE_MARGIN):
                        state = await _run_graph(request, services, context, events)
                except TimeoutError:
                    log.error("turn overran its deadline; answered with the fallback phrase")
                    state = await _timed_out(request, services, context)
                trace.finish(state)
            services.sessions.stored(conversation)
        response = ChatResponse(
            reply=state["reply"],
            session_id=request.session_id,
            agent_used=state.get("agent_used"),
            action=state["action"],
            url=state.get("url"),
        )
        status = 200
        return response
    except SessionLockTimeout:
        status = 409
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
            },
        )
