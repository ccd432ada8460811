"""GET /sessions (admin): the stored conversations in brief, for the operator console's list."""

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from server.errors import STORAGE_DOWN, ApiError
from server.routes.dependencies import ServicesDep
from server.schemas import ErrorResponse
from server.storage.backend import STORAGE_ERRORS

router = APIRouter(tags=["admin"])

MAX_LIST = 500


class ConversationRow(BaseModel):
    """One stored conversation in brief."""

    session_id: str
    id_empresa: int | None = Field(
        description="The company of its latest recorded turn (null: none recorded)."
    )
    turns: int = Field(description="Turns its stored history holds.")
    total_turns: int
    active_agent: str | None
    mode: Literal["bot", "human"] = Field(description="Who answers now: the bot or a person.")
    last_activity: str = Field(description="When its latest turn was stored (ISO-8601, UTC).")
    last_customer_message: str | None = Field(description="Cut to 120 characters.")
    last_reply_by: str | None = Field(description="An agent, `orquestador` or a person.")
    last_outcome: Literal["delegated", "failed", "timed_out"] | None = Field(
        description="The latest turn's agent call (null: no agent was called)."
    )


class ConversationList(BaseModel):
    """Stored conversations, latest activity first."""

    total: int = Field(description="How many matched (before `limit`).")
    sessions: list[ConversationRow]


@router.get(
    "/sessions",
    response_model=ConversationList,
    responses={400: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def list_sessions(
    services: ServicesDep,
    q: str | None = Query(None, max_length=200, description="Part of the session id."),
    id_empresa: int | None = Query(None, description="Only this company's conversations."),
    mode: Literal["bot", "human"] | None = Query(None, description="Only this mode."),
    limit: int = Query(100, ge=1, le=MAX_LIST),
) -> dict[str, Any]:
    """The stored conversations (idle-expired ones excluded), latest activity first."""
    try:
        rows = await services.sessions.summaries()
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    needle = (q or "").strip().lower()
    matched = [
        row
        for row in rows
        if (not needle or needle in row["session_id"].lower())
        and (id_empresa is None or row["id_empresa"] == id_empresa)
        and (mode is None or row["mode"] == mode)
    ]
    return {"total": len(matched), "sessions": matched[:limit]}
