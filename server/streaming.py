"""Server-Sent Events for a turn: progress (`routing`, `delegating`), `token` pieces, then `done`."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from server.errors import ApiError
from server.schemas import ChatRequest
from server.services import Services
from server.turns import run_turn

_WORDS = re.compile(r"\S+\s*|\s+")
_END = object()


def _event(name: str, data: dict[str, Any]) -> dict[str, str]:
    return {"event": name, "data": json.dumps(data, ensure_ascii=False)}


async def stream_turn(request: ChatRequest, services: Services) -> AsyncIterator[dict[str, str]]:
    """Run the turn in its own task (a client that leaves does not cut it) and relay its events."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    yield _event("routing", {"session_id": request.session_id})
    task = services.shutdown.spawn(
        run_turn(request, services, events=lambda name, data: queue.put_nowait((name, data)))
    )
    services.inflight.add(task)  # kept alive until the turn is stored and its lock released
    task.add_done_callback(services.inflight.discard)
    task.add_done_callback(lambda _: queue.put_nowait(_END))
    while (item := await queue.get()) is not _END:
        yield _event(*item)
    try:
        response = task.result()
    except ApiError as exc:
        yield _event("error", {"detail": exc.detail, "status": exc.status_code})
        return
    for piece in _WORDS.findall(response.reply):
        yield _event("token", {"text": piece})
    yield _event("done", response.model_dump())
