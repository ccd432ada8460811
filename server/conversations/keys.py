"""Conversation keys: a conversation is the pair (company, session id), stored under one text key.

The key is the checkpoint thread id, the session lock's name, the per-session rate limit's and
TTL's subject and the trace's thread. With SESSION_SCOPE=company it is

    "\\x1f" + "<id_empresa>:" + "<session id>"     e.g. "\\x1f7:5491122334455"

and with SESSION_SCOPE=global (or no company) the bare session id. The mapping is injective: a
canonical session id never starts with U+001F (it is whitespace to `str.strip`, and every id is
stripped at the API: see `server.turn.session_ids`), so no bare id equals a company key, and the
company part (digits up to the first `:`) splits a key back into its pair. U+001F is stored as it
is by SQLite and PostgreSQL and shows in JSON as `\\u001f`; in a UI it is invisible, so a trace's
thread reads as `7:5491122334455`.
"""

from typing import Literal

SessionScope = Literal["company", "global"]

MARK = "\x1f"
"""The first character of every company key (never the first of a canonical session id)."""


def conversation_key(company: int | None, session_id: str, scope: SessionScope) -> str:
    """The stored key of the conversation (company, session id) under `scope`."""
    if scope == "global" or company is None:
        return session_id
    return f"{MARK}{company}:{session_id}"


def split_key(key: str) -> tuple[int | None, str]:
    """(company, session id) of a stored key; (None, key) for a bare session id."""
    if not key.startswith(MARK):
        return None, key
    company, sep, session_id = key[1:].partition(":")
    if not sep or not company.isdigit():  # not written by us: shown as it is, owned by no one
        return None, key
    return int(company), session_id


def is_company_key(key: str) -> bool:
    """True when `key` names a company's conversation (not a bare session id)."""
    return split_key(key)[0] is not None
