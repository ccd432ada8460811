"""Session ids at the API boundary: the canonical form, and its short hash for logs and limits."""

import hashlib


def canonical_session_id(value: str) -> str:
    """The one stored form of a session id (chat, clear, stats and TTL): trimmed.

    Ids are identifiers, not text: they are never rewritten beyond that, so two ids never merge;
    an id holding characters no storage keeps (NUL, lone surrogates) is refused at the API.
    """
    return value.strip()


def session_ref(session_id: str) -> str:
    """A short stable hash of a session id (session ids are often phone numbers)."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:12]
