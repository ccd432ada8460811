"""Session ids at the API boundary: the canonical form, and a short hash of it for logs and limits."""

import hashlib


def session_ref(session_id: str) -> str:
    """A short stable hash of a session id (session ids are often phone numbers)."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:12]
