"""One MCP JSON-RPC request as its own HTTP POST on the held session: it fails or times out alone.

The SDK multiplexes every request of a session over one task group: a failed POST ends the whole
session, and a call waiting on it is never told (it waits for its timeout). Posting each
request ourselves (streamable HTTP allows it: the session is only the `mcp-session-id` header)
maps every outcome of one call to one AgentError and leaves the other calls alone.
"""

import itertools
import json
from typing import Any

import httpx

from graph.agents.bounded_body import lines_bounded, read_bounded
from graph.agents.transport import (
    AgentBusy,
    AgentError,
    AgentFailed,
    AgentRejected,
    AgentUnreachable,
)

ACCEPT = "application/json, text/event-stream"
SESSION_TERMINATED = "session_terminated"
"""404 for our session id: the server restarted and ran nothing (reopen, then retry)."""
REFUSED = frozenset({"ConnectError", "ConnectTimeout"})
"""Reasons that mean the server is gone: its held session is reopened."""

_ids = itertools.count(1)


def request_message(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """A JSON-RPC request with an id of its own (strings: never one of the SDK's integers)."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": f"orq-{next(_ids)}", "method": method}
    if params is not None:
        message["params"] = params
    return message


async def post_request(
    client: httpx.AsyncClient,
    url: str,
    message: dict[str, Any],
    *,
    session_id: str | None,
    protocol_version: str | None,
    connect_timeout: float,
    max_bytes: int,
) -> dict[str, Any]:
    """POST one request; return its JSON-RPC response (result or error) or raise AgentError.

    The caller bounds the whole call with its own timeout (cancelling closes only this POST).
    """
    headers = {"accept": ACCEPT, "content-type": "application/json"}
    if session_id:
        headers["mcp-session-id"] = session_id
    if protocol_version:
        headers["mcp-protocol-version"] = protocol_version
    timeout = httpx.Timeout(None, connect=connect_timeout, pool=connect_timeout)  # then: unsent
    request = client.build_request("POST", url, json=message, headers=headers, timeout=timeout)
    try:
        response = await client.send(request, stream=True)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise AgentUnreachable(type(exc).__name__) from None
    except httpx.HTTPError as exc:
        raise AgentFailed(type(exc).__name__, retry_key="dropped") from None
    try:
        return await _response(response, message["id"], bool(session_id), max_bytes)
    except httpx.HTTPError as exc:  # reset or closed while reading: it may have acted
        raise AgentFailed(type(exc).__name__, retry_key="dropped") from None
    finally:
        await response.aclose()


async def _response(
    response: httpx.Response, request_id: str, has_session: bool, max_bytes: int
) -> dict[str, Any]:
    status = response.status_code
    if status == 404 and has_session:
        raise AgentUnreachable(SESSION_TERMINATED)
    if status != 200:
        raise _status_error(status)
    kind = response.headers.get("content-type", "").lower()
    if kind.startswith("text/event-stream"):
        return await _from_events(response, request_id, max_bytes)
    try:
        message = json.loads(await read_bounded(response, max_bytes))
    except (ValueError, RecursionError):
        raise AgentFailed("invalid_json") from None
    found = _matching(message, request_id)
    if found is None:
        raise AgentFailed("no_response")
    return found


async def _from_events(response: httpx.Response, request_id: str, max_bytes: int) -> dict[str, Any]:
    """Read SSE events until the one answering `request_id` (notifications are skipped)."""
    data: list[str] = []
    async for line in lines_bounded(response, max_bytes):
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            try:
                message = json.loads("\n".join(data))
            except (ValueError, RecursionError):
                raise AgentFailed("invalid_json") from None
            data = []
            found = _matching(message, request_id)
            if found is not None:
                return found
    raise AgentFailed("dropped", retry_key="dropped")  # the stream ended without our answer


def _matching(message: object, request_id: str) -> dict[str, Any] | None:
    candidates = message if isinstance(message, list) else [message]
    for item in candidates:
        if not isinstance(item, dict) or item.get("id") != request_id:
            continue
        if "result" in item or "error" in item:
            return item
    return None


def _status_error(status: int) -> AgentError:
    if status == 503:
        return AgentBusy(f"http_{status}", retry_key=str(status))
    if 400 <= status < 500:
        return AgentRejected(f"http_{status}")
    return AgentFailed(f"http_{status}", retry_key=str(status))
