"""Admin endpoints: stored conversations and the non-secret configuration."""

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from common.url_mask import mask_url
from graph.agents.clear import clear_at_agents
from graph.text_clean import is_storable
from server.conversations.keys import split_key
from server.conversations.lookup import company_param, find_conversation
from server.conversations.lookup import memory_stats as conversation_stats
from server.errors import BUSY, STORAGE_DOWN, ApiError
from server.routes import path_ids  # noqa: F401  # registers {…:anytext}
from server.routes.dependencies import ServicesDep
from server.schemas import SESSION_EMPTY, ErrorResponse
from server.security.input_limits import BAD_TEXT
from server.storage.backend import STORAGE_ERRORS
from server.storage.locks import SessionLockTimeout
from server.turn.session_ids import canonical_session_id

router = APIRouter(tags=["admin"])


STORAGE: dict[int | str, dict[str, Any]] = {503: {"model": ErrorResponse}}
NO_CONVERSATION = "No hay conversación guardada para esta sesión"
COMPANY_QUERY = Query(
    None,
    description="The company (id_empresa) whose conversation is meant; required when the "
    "session id has conversations with several companies.",
)
"""`?id_empresa=`: a conversation is (company, session id)."""


@router.get("/memory/stats", responses={400: {"model": ErrorResponse}, **STORAGE})
async def memory_stats(
    services: ServicesDep, id_empresa: str | None = COMPANY_QUERY
) -> dict[str, Any]:
    """Sessions with stored conversation and how many turns each holds (of one company with
    `?id_empresa=`)."""
    company = company_param(id_empresa)
    try:
        return await conversation_stats(services, company)
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None


class StoredMessage(BaseModel):
    """One message of a stored conversation."""

    role: Literal["user", "assistant"]
    content: str
    agent: str | None = Field(
        description="Who answered: an agent, `orquestador`, `humano:<author>` (a person of the "
        "business, human handoff), or null (user)."
    )
    details: dict[str, Any] | None = Field(
        default=None,
        description="For a reply: its turn's routing and outcome (decision, intent, allowed "
        "agents, correction, agent call, timings, tokens; see graph/turn_log.py).",
    )


class StoredConversation(BaseModel):
    """A session's conversation as its checkpoint holds it (no config, context or secrets)."""

    session_id: str
    id_empresa: int | None = Field(
        description="The company the conversation belongs to (null: stored under the bare "
        "session id)."
    )
    active_agent: str | None
    turns: int = Field(description="Turns held in `messages` (the last MAX_HISTORY_TURNS).")
    total_turns: int = Field(description="Turns the session has had in total.")
    updated_at: str = Field(description="When the last turn was stored (ISO-8601, UTC).")
    messages: list[StoredMessage]


def checked_session_id(raw: str) -> str:
    """The path's session id in its stored form; a 400 naming the field when it is empty or
    holds what no storage keeps (NUL, a lone surrogate), on every backend alike."""
    session_id = canonical_session_id(raw)
    if not session_id:
        raise ApiError(400, SESSION_EMPTY)
    if not is_storable(session_id):
        raise ApiError(400, BAD_TEXT.format(field="session_id"))
    return session_id


@router.get(
    "/memory/sessions/{session_id:anytext}",
    response_model=StoredConversation,
    responses={
        400: {"model": ErrorResponse},
        404: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)
async def stored_conversation(
    session_id: str, services: ServicesDep, id_empresa: str | None = COMPANY_QUERY
) -> dict[str, Any]:
    """One conversation: messages, the active agent and its turns."""
    session_id = checked_session_id(session_id)
    company = company_param(id_empresa)
    try:
        key = await find_conversation(services, session_id, company)
        conversation = None if key is None else await services.sessions.conversation(key)
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    if conversation is None:
        raise ApiError(404, NO_CONVERSATION)
    return conversation


@router.post(
    "/memory/clear/{session_id:anytext}",
    responses={400: {"model": ErrorResponse}, 409: {"model": ErrorResponse}, **STORAGE},
)
async def clear_memory(
    session_id: str, services: ServicesDep, id_empresa: str | None = COMPANY_QUERY
) -> dict[str, str]:
    """Delete one conversation (the id as chat stores it: trimmed, `/` allowed; of one company
    with `?id_empresa=`); agents with AGENT_<KEY>_CLEAR_COMMAND that it used are sent that
    command."""
    session_id = checked_session_id(session_id)
    company = company_param(id_empresa)
    try:
        key = await find_conversation(services, session_id, company) or session_id
        async with services.locks.hold(key, services.settings.SESSION_LOCK_TIMEOUT):
            # what the company's next turn would adopt is its conversation too: cleared with it
            await services.sessions.adopt_if_new(key)
            used = agents_used(await services.sessions.conversation(key))
            await services.sessions.clear(key)
            owner = split_key(key)[0] if company is None else company
            await clear_at_agents(services.agents, session_id, owner, used)
    except SessionLockTimeout:
        raise ApiError(409, BUSY) from None
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    return {"message": f"Memoria limpiada para session_id: {session_id}"}


def agents_used(conversation: dict[str, Any] | None) -> list[str]:
    """The agents that answered in a stored conversation, and its active agent."""
    if conversation is None:
        return []
    names = [m["agent"] for m in conversation["messages"] if m.get("agent")]
    if conversation.get("active_agent"):
        names.append(conversation["active_agent"])
    return list(dict.fromkeys(names))


def _masked(url: str | None) -> str | None:
    return None if url is None else mask_url(url)


@router.get("/config")
async def config(services: ServicesDep) -> dict[str, Any]:
    """The non-secret configuration in force."""
    s = services.settings
    return {
        "mcp_reserva_url": mask_url(s.MCP_RESERVA_URL),
        "mcp_cita_url": mask_url(s.MCP_CITA_URL),
        "mcp_venta_url": mask_url(s.MCP_VENTA_URL),
        "mcp_reserva_enabled": s.MCP_RESERVA_ENABLED,
        "mcp_cita_enabled": s.MCP_CITA_ENABLED,
        "mcp_venta_enabled": s.MCP_VENTA_ENABLED,
        "agents": {
            spec.name: {
                "url": mask_url(spec.url),
                "protocol": spec.transport,
                "enabled": spec.enabled,
                "description": spec.summary,
                **(
                    {"mode": services.agents.resolved_mode(spec.name), "tool": spec.tool}
                    if spec.transport == "mcp" and spec.enabled
                    else {
                        "body": spec.body,
                        "token_configured": spec.token is not None,
                        "api_key_configured": spec.api_key is not None,
                    }
                    if spec.transport == "http"
                    else {}
                ),
                "timeout": spec.timeout or s.AGENT_TIMEOUT,
                "retry_on": sorted(spec.retry_on),
                "clear_command": spec.clear_command,
            }
            for spec in s.roster
        },
        "agent_modes": {
            name: services.agents.resolved_mode(name) for name in services.agents.names
        },
        "agent_max_concurrency": s.AGENT_MAX_CONCURRENCY,
        "routing_mode": s.ROUTING_MODE,
        "modalidad_agents": s.MODALIDAD_AGENTS,
        "turn_timeout": s.TURN_TIMEOUT,
        "openai_model": s.OPENAI_MODEL,
        "openai_base_url": _masked(s.OPENAI_BASE_URL),
        "openai_api_key_configured": s.OPENAI_API_KEY is not None,
        "llm_mode": "openai" if s.llm_enabled else "offline",
        "agent_timeout": s.AGENT_TIMEOUT,
        "agent_max_retries": s.AGENT_MAX_RETRIES,
        "agent_retry_backoff": s.AGENT_RETRY_BACKOFF,
        "agent_circuit_breaker_failure_threshold": s.AGENT_CIRCUIT_BREAKER_FAILURE_THRESHOLD,
        "agent_circuit_breaker_reset_timeout": s.AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT,
        "max_agent_response_bytes": s.MAX_AGENT_RESPONSE_BYTES,
        # the same values under their pre-issue-22 keys (clients may read them)
        "mcp_timeout": s.AGENT_TIMEOUT,
        "mcp_max_retries": s.AGENT_MAX_RETRIES,
        "mcp_circuit_breaker_failure_threshold": s.AGENT_CIRCUIT_BREAKER_FAILURE_THRESHOLD,
        "mcp_circuit_breaker_reset_timeout": s.AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT,
        "contexto_negocio_endpoint": _masked(s.CONTEXTO_NEGOCIO_ENDPOINT),
        "contexto_negocio_timeout": s.CONTEXTO_NEGOCIO_TIMEOUT,
        "contexto_negocio_cache_ttl": s.CONTEXTO_NEGOCIO_CACHE_TTL,
        "checkpointer": services.backend.kind,
        "checkpoint_db": s.CHECKPOINT_DB if services.backend.kind == "sqlite" else None,
        "database_url": s.masked_database_url(),
        "max_history_turns": s.MAX_HISTORY_TURNS,
        "session_lock_timeout": s.SESSION_LOCK_TIMEOUT,
        "session_ttl_seconds": s.SESSION_TTL_SECONDS,
        "session_scope": s.SESSION_SCOPE,
        "log_level": s.LOG_LEVEL,
    }
