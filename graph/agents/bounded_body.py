"""Agent answers read with a byte limit: a larger body is never read past it."""

from collections.abc import AsyncIterator

import httpx

from graph.agents.transport import AgentTooLarge

DEFAULT_LIMIT = 1024 * 1024
"""MAX_AGENT_RESPONSE_BYTES's default: 1 MiB."""


def check_declared_length(response: httpx.Response, limit: int) -> None:
    """Refuse at once a body whose Content-Length already says it is too large."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AgentTooLarge()


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The whole (decoded) body of a streamed response; AgentTooLarge past `limit` bytes."""
    check_declared_length(response, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise AgentTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def lines_bounded(response: httpx.Response, limit: int) -> AsyncIterator[str]:
    """The body's lines as they arrive (an SSE stream); AgentTooLarge past `limit` bytes, even
    inside one endless line (counted as bytes arrive, never buffered past the limit)."""
    check_declared_length(response, limit)
    size = 0
    pending = b""
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise AgentTooLarge()
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode("utf-8", errors="replace")
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", errors="replace")
