"""One chat turn: lock the session, run the graph with the checkpoint, map the outcome to the API."""

import logging
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import HumanMessage

from server.errors import BUSY, STORAGE_DOWN, ApiError, error_id
from server.schemas import ChatRequest, ChatResponse
from server.services import Services
from server.session_ids import session_ref
from server.storage.backend import STORAGE_ERRORS, STORAGE_REJECTED
from server.storage.locks import SessionLockTimeout
from server.tracing import turn_trace

log = logging.getLogger(__name__)

NO_KEY = "OPENAI_API_KEY no configurada"


def turn_input(request: ChatRequest) -> dict[str, Any]:
    """The graph input for one turn: the user's message, the session and the client's config."""
    config = request.config.model_dump(mode="json", exclude_unset=True)
    return {
        "messages": [HumanMessage(request.message)],
        "session_id": request.session_id,
        "bot_config": config,
    }


def run_config(session_id: str, services: Services) -> dict[str, Any]:
    """The LangGraph run config of a turn (thread = session; trace metadata)."""
    return {
        "configurable": {"thread_id": session_id},
        "metadata": {"thread_id": session_id},
        "run_name": "chat_turn",
    }


def check_model_configured(services: Services) -> None:
    """The spec's 500 when the configured mode needs a model key that is missing."""
    settings = services.settings
    if settings.LLM_MODE == "openai" and settings.OPENAI_API_KEY is None:
        raise ApiError(500, NO_KEY)


TurnEvents = Callable[[str, dict[str, Any]], None]
"""Receives progress events of a turn: ("delegating", {"agent": name})."""


async def _run_graph(
    request: ChatRequest, services: Services, events: TurnEvents | None
) -> dict[str, Any]:
    """Invoke the graph for one turn (one checkpoint at exit), reporting progress to `events`."""
    graph_input, config = turn_input(request), run_config(request.session_id, services)
    if events is None:
        return await services.graph.ainvoke(graph_input, config, durability="exit")
    state: dict[str, Any] = {}
    async for mode, chunk in services.graph.astream(
        graph_input, config, stream_mode=["updates", "values"], durability="exit"
    ):
        if mode == "values":
            state = chunk
            continue
        decision = (chunk.get("router") or {}).get("decision") or {}
        if decision.get("action") == "delegate":
            events("delegating", {"agent": decision.get("agent")})
    return state


async def run_turn(
    request: ChatRequest, services: Services, events: TurnEvents | None = None
) -> ChatResponse:
    """Run one turn and record it in the metrics; errors become ApiError with Spanish details."""
    started = time.perf_counter()
    status, response = 500, None
    try:
        check_model_configured(services)
        async with services.locks.hold(request.session_id, services.settings.SESSION_LOCK_TIMEOUT):
            if services.backend.health is not None:
                services.backend.health.require_file()  # never write into a deleted SQLite file
            await services.sessions.expire_if_idle(request.session_id)
            with turn_trace(request, services.settings) as trace:
                state = await _run_graph(request, services, events)
                trace.finish(state)
        response = ChatResponse(
            reply=state["reply"],
            session_id=request.session_id,
            agent_used=state.get("agent_used"),
            action=state["action"],
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
                "session": session_ref(request.session_id),
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
            extra={"session": session_ref(request.session_id), "error_id": ref},
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
                "session": session_ref(request.session_id),
                "status": status,
                "action": response.action if response else None,
                "agent_used": response.agent_used if response else None,
                "id_empresa": request.config.id_empresa,
                "latency_ms": round(elapsed * 1000, 1),
            },
        )
