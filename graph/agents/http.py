"""Plain-HTTP agents (production's agents of 2026): one POST per turn on a shared pooled client."""

import asyncio
import json
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from graph.agents.bounded_body import DEFAULT_LIMIT, read_bounded
from graph.agents.roster import AgentSpec
from graph.agents.session_id import as_integer
from graph.agents.transport import (
    AgentBusy,
    AgentCall,
    AgentError,
    AgentFailed,
    AgentRejected,
    AgentReply,
    AgentUnreachable,
)
from graph.usage import reported_usage

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
PROBE_TIMEOUT = 2.0
BUSY_STATUS = 503
"""The one status that says the request was not taken (502/504: a proxy saw it go through)."""
DETAIL_BYTES = 300


class HttpTransport:
    """POSTs the agent's body shape (`flat` or `context`); never retries by itself."""

    def __init__(
        self, spec: AgentSpec, client: httpx.AsyncClient, max_bytes: int = DEFAULT_LIMIT
    ) -> None:
        self.spec = spec
        self._client = client
        self._max_bytes = max_bytes
        self._health_url = _health_url(spec.url)

    async def start(self) -> None:
        """Nothing to open: the pooled client belongs to the app."""

    async def aclose(self) -> None:
        """Nothing to close: the pooled client belongs to the app."""

    def body(self, call: AgentCall) -> dict[str, Any]:
        """The JSON body this agent takes."""
        session_id = as_integer(call.session_id)
        config = dict(call.config)  # holds the turn's winning id_empresa (server/turn/turns.py)
        if self.spec.body == "context":
            return {
                "message": call.message,
                "session_id": session_id,
                "context": {"config": config},
            }
        body: dict[str, Any] = {
            "message": call.message,
            "session_id": session_id,
            "id_empresa": call.id_empresa,
            "config": config,
        }
        api_key = call.api_key or self.spec.api_key
        if api_key:
            body["api_key"] = api_key
        else:
            log.warning(
                "agent called without an api_key: the turn brought no company key; "
                "set the agent's default key",
                extra={
                    "agent": self.spec.name,
                    "setting": f"AGENT_{self.spec.name.upper()}_API_KEY",
                },
            )
        return body

    def headers(self, call: AgentCall) -> dict[str, str]:
        """X-Request-ID always, X-Internal-Token when configured."""
        headers = {"X-Request-ID": call.request_id} if call.request_id else {}
        if self.spec.token:
            headers["X-Internal-Token"] = self.spec.token
        return headers

    async def chat(self, call: AgentCall, timeout: float) -> AgentReply:
        """One POST; maps every outcome to a reply or an AgentError that says whether it acted.

        The body is read up to MAX_AGENT_RESPONSE_BYTES: a larger one is AgentTooLarge."""
        limits = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
        request = self._client.build_request(
            "POST", self.spec.url, json=self.body(call), headers=self.headers(call), timeout=limits
        )
        try:
            async with asyncio.timeout(timeout):
                response = await self._client.send(request, stream=True)
                try:
                    return await self._reply(response)
                finally:
                    await response.aclose()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise AgentUnreachable(type(exc).__name__) from None  # refused, DNS: nothing sent
        except (httpx.TimeoutException, TimeoutError):
            raise AgentFailed("timeout", retry_key="timeout") from None
        except httpx.HTTPError as exc:  # reset or closed after sending: it may have acted
            raise AgentFailed(type(exc).__name__, retry_key="dropped") from None

    async def _reply(self, response: httpx.Response) -> AgentReply:
        status = response.status_code
        if status != 200:
            detail = (await _head(response)).decode("utf-8", errors="replace")
            raise self._status_error(status, detail)
        try:
            data = json.loads(await read_bounded(response, self._max_bytes))
        except (ValueError, RecursionError):
            raise AgentFailed("invalid_json") from None
        reply = data.get("reply") if isinstance(data, dict) else None
        if not isinstance(reply, str) or not reply.strip():
            raise AgentFailed("empty_reply")
        url = data.get("url")
        link = url if isinstance(url, str) and url.strip() else None
        return AgentReply(reply, link, usage=reported_usage(data.get("usage")))

    def _status_error(self, status: int, detail: str) -> AgentError:
        if status == BUSY_STATUS:
            return AgentBusy(f"http_{status}", retry_key=str(status))
        if 400 <= status < 500:
            log.warning(
                "agent rejected the request (check its configuration)",
                extra={"agent": self.spec.name, "status": status},
            )
            return AgentRejected(f"http_{status}", detail)
        return AgentFailed(f"http_{status}", detail, retry_key=str(status))

    async def reachable(self) -> bool:
        """Whether the agent's GET /health answers a 2xx (a 5xx, a timeout, a refusal: no)."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                async with self._client.stream(
                    "GET", self._health_url, timeout=PROBE_TIMEOUT
                ) as response:
                    return response.is_success
        except (httpx.HTTPError, TimeoutError):
            return False


async def _head(response: httpx.Response) -> bytes:
    """The first bytes of an error body (the rest is never read)."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= DETAIL_BYTES:
            break
    return data[:DETAIL_BYTES]


def _health_url(url: str) -> str:
    """The agent's /health on the same origin as its chat URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))
