"""One agent's held MCP session: opened and owned by one long-lived task, tools listed once.

Calls do not travel on the SDK's session (see mcp_http.py): it gives them the session id and
the protocol version, and lists the tools. Reopening it therefore cancels no call.
"""

import asyncio
import contextlib
import logging

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import Tool

log = logging.getLogger(__name__)


class AgentUnavailableError(RuntimeError):
    """The agent's MCP server could not be reached (down, or not connected yet)."""


class McpSession:
    """Holds one MCP session to one agent server; callers borrow it, the owner task reopens it."""

    def __init__(
        self, name: str, url: str, *, connect_timeout: float, max_reconnect_delay: float = 15.0
    ) -> None:
        self.name = name
        self.url = url
        self._connect_timeout = connect_timeout
        self._max_delay = max_reconnect_delay
        self._session: ClientSession | None = None
        self.session_id: str | None = None
        """The server's `mcp-session-id` (None for a stateless server)."""
        self.protocol_version: str | None = None
        """The protocol version the server agreed to at initialize."""
        self._tools: dict[str, Tool] = {}
        self._generation = 0
        self._attempts = 0
        self._changed = asyncio.Condition()
        self._broken = asyncio.Event()
        self._kick = asyncio.Event()
        self.last_error: str | None = None

    @property
    def connected(self) -> bool:
        """True while a session is open and its tools are known."""
        return self._session is not None

    @property
    def tools(self) -> dict[str, Tool]:
        """The MCP tools the server published, by name (empty until connected)."""
        return self._tools

    @property
    def generation(self) -> int:
        """Increments each time a new session is opened (tools may have changed)."""
        return self._generation

    @property
    def session(self) -> ClientSession | None:
        """The open session, if any."""
        return self._session

    async def run(self) -> None:
        """Own the session for the agent's lifetime: open, list tools, wait until broken, reopen."""
        delay = 0.5
        while True:
            try:
                timeout = httpx.Timeout(self._connect_timeout, read=300)
                async with (
                    create_mcp_http_client(timeout=timeout) as http,
                    streamable_http_client(self.url, http_client=http) as (read, write, get_id),
                    ClientSession(read, write) as session,
                ):
                    started = await asyncio.wait_for(session.initialize(), self._connect_timeout)
                    listed = await asyncio.wait_for(session.list_tools(), self._connect_timeout)
                    self.session_id = get_id()
                    self.protocol_version = str(started.protocolVersion)
                    await self._publish(session, {tool.name: tool for tool in listed.tools})
                    log.info(
                        "agent connected", extra={"agent": self.name, "tools": sorted(self._tools)}
                    )
                    delay = 0.5
                    await self._broken.wait()
                    log.warning("agent session broken; reopening", extra={"agent": self.name})
            except asyncio.CancelledError:
                await self._publish(None, {})
                raise
            except Exception as exc:  # any failure to connect is retried below
                self.last_error = describe(exc)
                log.warning(
                    "agent unreachable; retrying in background",
                    extra={"agent": self.name, "error": self.last_error, "retry_in_s": delay},
                )
            await self._publish(None, {}, attempt_done=True)
            self._broken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), delay)
            self._kick.clear()
            delay = min(delay * 2, self._max_delay)

    async def _publish(
        self, session: ClientSession | None, tools: dict[str, Tool], *, attempt_done: bool = False
    ) -> None:
        async with self._changed:
            self._session = session
            if session is not None:
                self._tools = tools
                self._generation += 1
            if attempt_done:
                self._attempts += 1
            self._changed.notify_all()

    async def wait_session(self, timeout: float) -> ClientSession:
        """Return the open session, waiting up to `timeout` for one connection attempt."""
        if self._session is not None:
            return self._session
        async with self._changed:
            start = self._attempts
            self._kick.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(
                        lambda: self._session is not None or self._attempts > start
                    ),
                    timeout,
                )
        if self._session is None:
            raise AgentUnavailableError(self.last_error or "agent not connected")
        return self._session

    def mark_broken(self, session: ClientSession) -> None:
        """Ask the owner task to reopen, if `session` is still the current one."""
        if session is self._session:
            self._broken.set()


def describe(exc: BaseException) -> str:
    """A short description of an error, unwrapping the task groups anyio wraps errors in."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:300]
