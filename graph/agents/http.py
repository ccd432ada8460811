"""Plain-HTTP agents (production's agents of 2026): one POST per turn on a shared pooled client."""

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from graph.agents.roster import AgentSpec
from graph.agents.session_id import as_integer
from graph.agents.transport import (
    AgentBusy,
    AgentCall,
    AgentFailed,
    AgentRejected,
    AgentReply,
    AgentUnreachable,
)
from graph.usage import reported_usage

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
BUSY_STATUSES = frozenset({502, 503, 504})


class HttpAgent:
    """POSTs the agent's body shape (`flat` or `context`); never retries by itself."""

    def __init__(self, spec: AgentSpec, client: httpx.AsyncClient) -> None:
        self.spec = spec
        self._client = client
        self._health_url = _health_url(spec.url)

    async def start(self) -> None:
        """Nothing to open: the pooled client belongs to the app."""

    async def aclose(self) -> None:
        """Nothing to close: the pooled client belongs to the app."""

    def body(self, call: AgentCall) -> dict[str, Any]:
        """The JSON body this agent takes."""
        session_id = as_integer(call.session_id)
        config = dict(call.config)  # holds the turn's winning id_empresa (server/turns.py)
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
        if call.api_key:
            body["api_key"] = call.api_key
        return body

    def headers(self, call: AgentCall) -> dict[str, str]:
        """X-Request-ID always, X-Internal-Token when configured."""
        headers = {"X-Request-ID": call.request_id} if call.request_id else {}
        if self.spec.token:
            headers["X-Internal-Token"] = self.spec.token
        return headers

    async def chat(self, call: AgentCall, timeout: float) -> AgentReply:
        """One POST; maps every outcome to a reply or an AgentError that says whether it acted."""
        limits = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))
        try:
            async with asyncio.timeout(timeout):
                response = await self._client.post(
                    self.spec.url, json=self.body(call), headers=self.headers(call), timeout=limits
                )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise AgentUnreachable(type(exc).__name__) from None
        except (httpx.TimeoutException, TimeoutError):
            raise AgentFailed("timeout") from None
        except httpx.HTTPError as exc:
            raise AgentFailed(type(exc).__name__) from None
        return self._reply(response)

    def _reply(self, response: httpx.Response) -> AgentReply:
        status = response.status_code
        if status in BUSY_STATUSES:
            raise AgentBusy(f"http_{status}")
        if 400 <= status < 500:
            log.warning(
                "agent rejected the request (check its configuration)",
                extra={"agent": self.spec.name, "status": status},
            )
            raise AgentRejected(f"http_{status}", response.text[:300])
        if status != 200:
            raise AgentFailed(f"http_{status}", response.text[:300])
        try:
            data = response.json()
        except ValueError:
            raise AgentFailed("invalid_json") from None
        reply = data.get("reply") if isinstance(data, dict) else None
        if not isinstance(reply, str) or not reply.strip():
            raise AgentFailed("empty_reply")
        url = data.get("url")
        link = url if isinstance(url, str) and url.strip() else None
        return AgentReply(reply, link, usage=reported_usage(data.get("usage")))

    async def reachable(self) -> bool:
        """Whether the agent's server answers at all (any HTTP status on GET /health)."""
        try:
            await self._client.get(self._health_url, timeout=1.0)
        except httpx.HTTPError:
            return False
        return True


def _health_url(url: str) -> str:
    """The agent's /health on the same origin as its chat URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))
