"""What every agent transport (MCP or HTTP) takes and returns, and how its failures differ."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

AgentHealth = Literal["ok", "circuit_open", "unreachable", "disabled"]


@dataclass(frozen=True)
class AgentCall:
    """One conversational turn handed to an agent."""

    message: str
    session_id: str
    """The canonical session id (transports convert it to the type the agent takes)."""
    config: Mapping[str, Any]
    """The client's bot configuration, passed through."""
    id_empresa: int | None = None
    api_key: str | None = field(default=None, repr=False)
    """The company's own model key (a secret: never logged, never stored)."""
    request_id: str = ""
    """The turn's id: X-Request-ID / context.request_id, an idempotency key for the agent."""


@dataclass(frozen=True)
class AgentReply:
    """What an agent answered: the reply text and, optionally, a file or image link."""

    reply: str
    url: str | None = None
    usage: tuple[int, int] | None = None
    """(input, output) tokens the agent reported spending on this answer, if it did."""


class AgentError(Exception):
    """An agent call failed; `reason` is a short label for logs and metrics."""

    retryable = False
    """True only when the agent surely did not act (the request never reached it)."""

    def __init__(self, reason: str, detail: str = "", *, retry_key: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        """The agent's own error text: may echo the user's message, so logged at DEBUG only."""
        self.retry_key = retry_key
        """How AGENT_<KEY>_RETRY_ON names this failure (`502`, `timeout`, `dropped`), if it can."""


class AgentUnreachable(AgentError):
    """Not connected, connection refused, DNS failure, connect timeout: nothing was sent."""

    retryable = True


class AgentBusy(AgentError):
    """An explicit 503: the agent (or what is in front of it) says it did not take the request."""

    retryable = True


class AgentFailed(AgentError):
    """The request may have reached the agent (500, 502, 504, read timeout, dropped connection,
    empty reply): never sent again unless AGENT_<KEY>_RETRY_ON names it."""


class AgentTooLarge(AgentFailed):
    """The agent's answer was larger than MAX_AGENT_RESPONSE_BYTES (not read past it)."""

    def __init__(self) -> None:
        super().__init__("too_large")


class AgentRejected(AgentError):
    """The agent refused the request (a 4xx, an `isError` result): a configuration problem."""


class AgentTransport(Protocol):
    """What the registry needs of one agent's transport (MCP, HTTP, or an in-process test fake)."""

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def chat(self, call: AgentCall, timeout: float) -> AgentReply: ...

    async def reachable(self) -> bool: ...
