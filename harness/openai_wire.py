"""Wire format of the OpenAI stub: completion bodies, SSE chunks, usage, Connection: close."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from harness.openai_specs import message_texts


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def pieces(s: str) -> list[str]:
    """Split text into several stream pieces (words with their leading spaces)."""
    parts = re.findall(r"\s*\S+|\s+$", s)
    if len(parts) < 2 and len(s) > 1:
        parts = [s[i : i + 4] for i in range(0, len(s), 4)]
    return parts or [s]


def usage(req: dict[str, Any], message: dict[str, Any]) -> dict[str, int]:
    """Rough token counts (words) for the request and the answer."""
    prompt = sum(len(t.split()) for t in message_texts(req)) + 1
    calls = message.get("tool_calls") or []
    out = message.get("content") or "".join(c["function"]["arguments"] for c in calls)
    completion = max(1, len(out.split()))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion(
    model: str, message: dict[str, Any], finish: str, use: dict[str, int]
) -> dict[str, Any]:
    """A non-streaming chat.completion body."""
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_stub",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": use,
    }


async def sse(
    model: str, message: dict[str, Any], finish: str, use: dict[str, int] | None, delay_s: float
) -> AsyncIterator[str]:
    """`data: {chunk}` events: role, content tokens, tool-call deltas, finish, [usage], [DONE]."""
    cid, created = completion_id(), int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        body: dict[str, Any] = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [choice],
        }
        if use is not None:
            body["usage"] = None
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    for piece in pieces(message["content"]) if message.get("content") else []:
        if delay_s:
            await asyncio.sleep(delay_s)
        yield chunk({"content": piece})
    for i, call in enumerate(message.get("tool_calls") or []):
        fn = call["function"]
        head = {
            "index": i,
            "id": call["id"],
            "type": "function",
            "function": {"name": fn["name"], "arguments": ""},
        }
        yield chunk({"tool_calls": [head]})
        for piece in pieces(fn["arguments"]):
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
    yield chunk({}, finish)
    if use is not None:
        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": use,
        }
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"


class ConnectionClose:
    """ASGI wrapper answering `Connection: close`.

    ChatOpenAI caches its async httpx client per (base_url, timeout) for the whole process; a
    kept-alive connection opened in a previous test's (now closed) event loop makes the next
    test fail with "RuntimeError: Event loop is closed". Closing every connection avoids it.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_closing(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_closing)
