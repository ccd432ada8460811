"""/sessions (admin key): the stored conversations in brief (the operator console's list), and
the human handoff: take a conversation, write as the person, give it back, list those waiting
for or held by a person."""

import json
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError

from graph.text_clean import clean_text, is_blank
from server.conversations.keys import conversation_key
from server.errors import BUSY, STORAGE_DOWN, ApiError
from server.handoff.modes import HumanMode
from server.handoff.service import Handoff
from server.routes.admin import checked_session_id
from server.routes.dependencies import ServicesDep
from server.schemas import TOP_ID_EMPRESA, ErrorResponse, positive_id
from server.security.input_limits import BAD_TEXT, MAX_SESSION_ID_CHARS, SESSION_TOO_LONG
from server.storage.backend import STORAGE_ERRORS
from server.storage.locks import SessionLockTimeout

router = APIRouter(prefix="/sessions", tags=["handoff"])

OFF = "La atención humana no está activada (HANDOFF_ENABLED)"
NOT_HUMAN = (
    "La conversación no está en modo humano: tómala primero con POST /sessions/{session_id}/handoff"
)
TEXT_EMPTY = "El campo 'text' no puede estar vacío"
TEXT_TOO_LONG = "El campo 'text' supera el máximo de {limit} caracteres"
AUTHOR_TOO_LONG = "El campo 'author' supera el máximo de {limit} caracteres"
MAX_AUTHOR_CHARS = 80
DEFAULT_AUTHOR = "asesor"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


class PersonMessage(BaseModel):
    """A message a person of the business wrote to the customer (sent to the customer by the
    operator's own tool; stored here so the bot sees it when it resumes)."""

    text: str = Field(description="What the person wrote.")
    author: str | None = Field(
        default=None, description=f"Who wrote it (default `{DEFAULT_AUTHOR}`)."
    )


def _handoff(services: ServicesDep) -> Handoff:
    if services.handoff is None:
        raise ApiError(404, OFF)
    return services.handoff


def _checked(session_id: str, id_empresa: str | None) -> tuple[int, str]:
    """The company (`?id_empresa=`, an integer > 0) and the session id as chat stores it."""
    if id_empresa is None:
        raise ApiError(400, TOP_ID_EMPRESA)
    try:
        company = positive_id(id_empresa, TOP_ID_EMPRESA)
    except PydanticCustomError:
        raise ApiError(400, TOP_ID_EMPRESA) from None
    key = checked_session_id(session_id)
    if len(key) > MAX_SESSION_ID_CHARS:
        raise ApiError(400, SESSION_TOO_LONG)
    return company, key


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _view(mode: HumanMode) -> dict[str, Any]:
    return {
        "id_empresa": mode.id_empresa,
        "session_id": json.loads(mode.session_id),
        "mode": "human",
        "reason": mode.reason,
        "since": _iso(mode.since),
        "state": "held" if mode.last_author is not None else "waiting",
        "last_customer_message": mode.last_customer_message,
        "last_customer_at": _iso(mode.last_customer_at),
        "answered_last": mode.last_author if mode.last_author is not None else "bot",
        "last_person_at": _iso(mode.last_person_at),
    }


MAX_LIST = 500


class ConversationRow(BaseModel):
    """One stored conversation in brief."""

    session_id: str
    id_empresa: int | None = Field(
        description="Its company (null: a conversation stored before conversations were per "
        "company, with no recorded turn)."
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


@router.get("", responses=ERRORS)
async def sessions(
    services: ServicesDep,
    mode: Literal["bot", "human"] | None = Query(
        None, description="`human`: the conversations waiting for or held by a person."
    ),
    q: str | None = Query(None, max_length=200, description="Part of the session id."),
    id_empresa: int | None = Query(None, description="Only this company's conversations."),
    limit: int = Query(100, ge=1, le=MAX_LIST),
) -> dict[str, Any]:
    """The stored conversations in brief, latest activity first (idle-expired ones excluded);
    with `mode=human`, those waiting for (`waiting`) or held by (`held`) a person, longest
    first: company, session id, since when, the last customer message, who answered last."""
    if mode == "human":
        handoff = _handoff(services)
        try:
            held = await handoff.store.held(limit)
        except STORAGE_ERRORS:
            raise ApiError(503, STORAGE_DOWN) from None
        return {"mode": mode, "total": len(held), "sessions": [_view(m) for m in held]}
    try:
        rows = await services.sessions.summaries()
        humans = (
            {
                (m.id_empresa, str(json.loads(m.session_id)))
                for m in await services.handoff.store.held(MAX_LIST)
            }
            if services.handoff is not None
            else set()
        )
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    for row in rows:
        if (row["id_empresa"], row["session_id"]) in humans:
            row["mode"] = "human"
    needle = (q or "").strip().lower()
    matched = [
        ConversationRow(**row).model_dump()
        for row in rows
        if (not needle or needle in row["session_id"].lower())
        and (id_empresa is None or row["id_empresa"] == id_empresa)
        and (mode is None or row["mode"] == mode)
    ]
    return {"total": len(matched), "sessions": matched[:limit]}


@router.post("/{session_id:path}/handoff", responses=ERRORS)
async def take(
    session_id: str, services: ServicesDep, id_empresa: str | None = None
) -> dict[str, Any]:
    """Hand the conversation to a person (reason `operator`): from now on the customer's messages
    are stored and answered `action: "human"` with no reply, until resume or the timeout."""
    handoff = _handoff(services)
    company, key = _checked(session_id, id_empresa)
    try:
        started = await handoff.start(company, key, key, "operator")
        mode = await handoff.store.get(company, key)
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    view = _view(mode) if mode is not None else {"id_empresa": company, "session_id": key}
    return {**view, "started": started}


@router.post("/{session_id:path}/messages", responses=ERRORS)
async def write(
    session_id: str, body: PersonMessage, services: ServicesDep, id_empresa: str | None = None
) -> dict[str, Any]:
    """Store the person's message as the business's (in order with the customer's), so the bot
    sees it when it resumes; 409 when the conversation is not in human mode."""
    handoff = _handoff(services)
    company, key = _checked(session_id, id_empresa)
    text = clean_text(body.text)
    if is_blank(text):
        raise ApiError(400, TEXT_EMPTY)
    limit = services.settings.MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise ApiError(400, TEXT_TOO_LONG.format(limit=limit))
    author = clean_text(body.author or "").strip() or DEFAULT_AUTHOR
    if len(author) > MAX_AUTHOR_CHARS:
        raise ApiError(400, AUTHOR_TOO_LONG.format(limit=MAX_AUTHOR_CHARS))
    for field, value in (("text", text), ("author", author)):
        if "\x00" in value:
            raise ApiError(400, BAD_TEXT.format(field=field))
    # the conversation's checkpoint thread and lock name, as chat's turns use
    thread = conversation_key(company, key, services.settings.SESSION_SCOPE)
    try:
        async with services.locks.hold(thread, services.settings.SESSION_LOCK_TIMEOUT):
            stored = await handoff.person(company, key, text, author, thread=thread)
    except SessionLockTimeout:
        raise ApiError(409, BUSY) from None
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    if not stored:
        raise ApiError(409, NOT_HUMAN)
    return {"id_empresa": company, "session_id": key, "stored": True, "author": author}


@router.post("/{session_id:path}/resume", responses=ERRORS)
async def resume(
    session_id: str, services: ServicesDep, id_empresa: str | None = None
) -> dict[str, Any]:
    """Give the conversation back to the bot (reason `resume`): the next customer message is
    routed as usual, with the whole conversation (the person's messages too) in view."""
    handoff = _handoff(services)
    company, key = _checked(session_id, id_empresa)
    try:
        ended = await handoff.resume(company, key)
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    return {"id_empresa": company, "session_id": key, "mode": "bot", "ended": ended}
