"""The `handoff_started` and `handoff_ended` events, written to the webhook outbox (delivered
signed, like replies, after the conversation's earlier events)."""

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from server.handoff.modes import HumanMode
from server.observability.request_ids import current_request_id
from server.webhooks.outbox import Event

log = logging.getLogger(__name__)


def _iso(moment: float) -> str:
    return (
        datetime.fromtimestamp(moment, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def handoff_event(name: str, mode: HumanMode, reason: str, now: float) -> Event:
    """One event of a conversation's handoff: `event`, `session_id` (as the client sent it),
    `id_empresa`, `reason`, `time`, `since` (when the person took it), `delivery_id`,
    `request_id`; `handoff_ended` adds `seconds` spent in human mode."""
    delivery_id = uuid.uuid4().hex
    request_id = current_request_id.get() or uuid.uuid4().hex
    body: dict[str, Any] = {
        "event": name,
        "session_id": json.loads(mode.session_id),
        "id_empresa": mode.id_empresa,
        "reason": reason,
        "time": _iso(now),
        "since": _iso(mode.since),
        "delivery_id": delivery_id,
        "request_id": request_id,
    }
    if name == "handoff_ended":
        body["seconds"] = round(max(0.0, now - mode.since), 3)
    return Event(
        delivery_id=delivery_id,
        conversation=f"{mode.id_empresa}:{mode.session_key}",
        id_empresa=mode.id_empresa,
        session_id=mode.session_id,
        request_id=request_id,
        event=name,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
    )
