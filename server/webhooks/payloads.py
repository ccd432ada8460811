"""The bodies a reply webhook receives: `event: "reply"` (a turn's answer) or `event: "error"`.

A body is serialised once, when its row is written, and those exact bytes are signed and sent
on every attempt (the `time` in it is when the event was written, not when it was sent)."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

RESTARTED = "El servicio se reinició antes de responder este mensaje; vuelve a enviarlo, por favor."
"""The detail of an accepted turn whose process died before it answered (see README)."""


@dataclass(frozen=True)
class EventMeta:
    """What every event of one asynchronous turn carries besides its own fields."""

    delivery_id: str
    request_id: str
    id_empresa: int
    session_id: str | int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _meta(meta: EventMeta) -> dict[str, Any]:
    return {
        "request_id": meta.request_id,
        "id_empresa": meta.id_empresa,
        "delivery_id": meta.delivery_id,
        "time": _now(),
    }


def reply_body(response: dict[str, Any], meta: EventMeta) -> bytes:
    """The synchronous response's JSON plus `event: "reply"` and the event's metadata."""
    return _encode({**response, "event": "reply", **_meta(meta)})


def error_body(status: int, detail: str, message: str | None, meta: EventMeta) -> bytes:
    """A turn that was accepted but could not be answered: its status and Spanish detail, and
    the customer's message so the flow can send it again."""
    return _encode(
        {
            "event": "error",
            "status": status,
            "detail": detail,
            "session_id": meta.session_id,
            "message": message,
            **_meta(meta),
        }
    )
