"""Session ids as agents take them: canonical digits as integers, anything else a stable integer."""

import hashlib
from typing import Any

DERIVED_BASE = 2**52
"""Derived ids live in [2^52, 2^53): above any phone number, below JavaScript's safe integers."""


def as_integer(session_id: str) -> int:
    """The integer an agent that declares `session_id: int` receives for this session.

    A canonical positive decimal (digits only, no sign, no leading zero: "51987654321") is sent
    as that number. Any other id ("user-abc", "051987654321", "a/b") is sent as
    2^52 + (the first 8 bytes of SHA-256 of its UTF-8 text, mod 2^52): the same on every
    instance and after restarts, distinct from every phone-sized number, and different for
    different ids in all practical cases (a collision needs about 2^26 ids).
    """
    if session_id.isascii() and session_id.isdigit() and not session_id.startswith("0"):
        value = int(session_id)
        if 0 < value < 2**63:
            return value
    digest = hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).digest()
    return DERIVED_BASE + int.from_bytes(digest[:8], "big") % DERIVED_BASE


def for_schema(session_id: str, input_schema: dict[str, Any] | None) -> str | int:
    """The id in the type an MCP tool declares: an integer when it says integer, else the text."""
    declared = _declared_types((input_schema or {}).get("properties", {}).get("session_id", {}))
    if declared and "string" not in declared and declared & {"integer", "number"}:
        return as_integer(session_id)
    return session_id


def _declared_types(prop: dict[str, Any]) -> set[str]:
    """The JSON-schema types a property allows (following anyOf/oneOf)."""
    kind = prop.get("type")
    types = set(kind) if isinstance(kind, list) else ({kind} if kind else set())
    for key in ("anyOf", "oneOf"):
        for option in prop.get(key, []):
            types |= _declared_types(option)
    types.discard("null")
    return types
