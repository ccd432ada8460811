"""Send the session id in the type an agent's `chat` tool declares (WhatsApp ids may be integers)."""

from typing import Any


class SessionIdTypeError(ValueError):
    """The session id cannot be given in the type the agent declares; the call is not made."""


def coerce_session_id(session_id: str, input_schema: dict[str, Any] | None) -> str | int:
    """Return `session_id` as the declared type: int when the schema says integer, else str."""
    declared = _declared_types((input_schema or {}).get("properties", {}).get("session_id", {}))
    if not declared or "string" in declared:
        return session_id
    if "integer" in declared or "number" in declared:
        text = session_id.strip()
        if text.isascii() and text.isdigit():
            return int(text)
        raise SessionIdTypeError(
            f"agent declares session_id as {'/'.join(sorted(declared))}; id is not all digits"
        )
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
