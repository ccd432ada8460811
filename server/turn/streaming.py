"""Server-Sent Events of a turn: progress (`routing`, `delegating`), `token` pieces, then `done`."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from server.errors import ApiError
from server.schemas import ChatRequest
from server.services import Services
from server.turn.bursts import answer_message

PIECE_MIN, PIECE_MAX = 40, 80
# A piece is up to PIECE_MAX characters ending after a whitespace (or at the end of the text),
# at least PIECE_MIN when the text allows; a word longer than PIECE_MAX is cut inside.
_PIECES = re.compile(rf".{{{PIECE_MIN},{PIECE_MAX - 1}}}(?:\s|\Z)|.{{1,{PIECE_MAX}}}", re.DOTALL)
_END = object()


def pieces(text: str) -> list[str]:
    """The reply cut at word boundaries into pieces of about 40-80 characters (joined: `text`)."""
    return _PIECES.findall(text)


def _event(name: str, data: dict[str, Any]) -> dict[str, str]:
    return {"event": name, "data": json.dumps(data, ensure_ascii=False)}


def _coalesced(items: list[Any]) -> list[Any]:
    """Queued events with consecutive live tokens merged into one (a busy loop sends fewer)."""
    merged: list[Any] = []
    for item in items:
        if item is not _END and item[0] == "token" and merged and merged[-1] is not _END:
            name, data = merged[-1]
            if name == "token":
                merged[-1] = ("token", {"text": data["text"] + item[1]["text"]})
                continue
        merged.append(item)
    return merged


async def stream_turn(request: ChatRequest, services: Services) -> AsyncIterator[dict[str, str]]:
    """Run the turn in its own task (a client that leaves does not cut it) and relay its events.

    Tokens are the model's own stream when a tool-loop agent answers (`tools` mode); otherwise
    the finished reply is sent in pieces. Either way `done` carries the reply as /chat does."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    yield _event("routing", {"session_id": request.session_id})
    # spawned turns are tracked (referenced) by shutdown until stored and their lock released
    task = services.shutdown.spawn(
        answer_message(request, services, events=lambda name, data: queue.put_nowait((name, data)))
    )
    task.add_done_callback(lambda _: queue.put_nowait(_END))
    live = ""
    finished = False
    while not finished:
        items = [await queue.get()]
        while not queue.empty():
            items.append(queue.get_nowait())
        for item in _coalesced(items):
            if item is _END:
                finished = True
                break
            name, data = item
            if name == "token":
                text = data["text"] if live else data["text"].lstrip()  # the reply is trimmed
                if not text:
                    continue
                live += text
                data = {"text": text}
            yield _event(name, data)
    try:
        response = task.result()
    except ApiError as exc:
        yield _event("error", {"detail": exc.detail, "status": exc.status_code})
        return
    rest = response.reply[len(live) :] if response.reply.startswith(live) else ""
    for piece in pieces(rest):
        yield _event("token", {"text": piece})
        await asyncio.sleep(0)  # a long reply never holds the event loop (health checks)
    yield _event("done", response.model_dump())
