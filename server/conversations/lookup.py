"""The /memory endpoints' view of conversations: a session id (and `?id_empresa=`) to its key."""

from typing import Any

from server.conversations.keys import conversation_key, split_key
from server.errors import ApiError
from server.services import Services

BAD_COMPANY = "El parámetro 'id_empresa' debe ser un número mayor a 0"
AMBIGUOUS = (
    "Esta sesión tiene conversaciones en varias empresas: indique cuál con el parámetro "
    "'id_empresa' (?id_empresa=)"
)


def company_param(value: str | None) -> int | None:
    """The `?id_empresa=` query parameter (None when absent); a Spanish 400 when not an id."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise ApiError(400, BAD_COMPANY)
    return int(text)


async def find_conversation(services: Services, session_id: str, company: int | None) -> str | None:
    """The key of the conversation an admin names: (company, id) when the company is given;
    else the one conversation holding the id (None: none; a 400 naming id_empresa: several)."""
    if company is not None:
        return conversation_key(company, session_id, services.settings.SESSION_SCOPE)
    holders = await services.sessions.holders(session_id)
    if len(holders) > 1:
        raise ApiError(400, AMBIGUOUS)
    return holders[0] if holders else None


async def memory_stats(services: Services, company: int | None) -> dict[str, Any]:
    """GET /memory/stats: turns per session id, of one company or of all (then also by company).

    Without a company, `sessions` sums the turns of an id held by several companies and
    `companies` shows each company's own; `unscoped` lists conversations stored under a bare
    session id (SESSION_SCOPE=global, or not yet adopted by a company).
    """
    counts = await services.sessions.turns_by_session()
    if company is not None:
        own = {}
        for key, turns in counts.items():
            owner, sid = split_key(key)
            if owner == company:
                own[sid] = turns
        return {"total_sessions": len(own), "sessions": own, "id_empresa": company}
    sessions: dict[str, int] = {}
    companies: dict[str, dict[str, int]] = {}
    unscoped: dict[str, int] = {}
    for key, turns in counts.items():
        owner, sid = split_key(key)
        sessions[sid] = sessions.get(sid, 0) + turns
        if owner is None:
            unscoped[sid] = turns
        else:
            companies.setdefault(str(owner), {})[sid] = turns
    return {
        "total_sessions": len(counts),
        "sessions": sessions,
        "companies": companies,
        "unscoped": unscoped,
    }
