"""MCP agents: the conversational tool called on a held session, or its domain tools for a loop."""

import asyncio
import contextlib
import logging
from typing import Any, Literal

import httpx
from mcp.types import CallToolResult, TextContent, Tool
from pydantic import ValidationError

from graph.agents.bounded_body import DEFAULT_LIMIT
from graph.agents.mcp_http import REFUSED, SESSION_TERMINATED, post_request, request_message
from graph.agents.mcp_session import AgentUnavailableError, McpSession
from graph.agents.output_schema import OutputSchemas
from graph.agents.roster import AgentSpec
from graph.agents.session_id import for_schema
from graph.agents.transport import (
    AgentCall,
    AgentError,
    AgentFailed,
    AgentRejected,
    AgentReply,
    AgentUnreachable,
)

log = logging.getLogger(__name__)

CHAT_TOOL = "chat"
CONNECT_WAIT = 5.0
PROBE_TIMEOUT = 2.0


class McpTransport:
    """One agent server over streamable HTTP; its session is owned by one background task."""

    def __init__(
        self,
        spec: AgentSpec,
        connect_timeout: float,
        client: httpx.AsyncClient,
        max_bytes: int = DEFAULT_LIMIT,
    ) -> None:
        self.spec = spec
        self.session = McpSession(spec.name, spec.url, connect_timeout=connect_timeout)
        self._client = client
        """The app's pooled client: every call is its own POST on it (see mcp_http.py)."""
        self._connect_timeout = connect_timeout
        self._max_bytes = max_bytes
        self._schemas = OutputSchemas()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the owner task (a down agent is retried in the background)."""
        self._task = asyncio.create_task(self.session.run(), name=f"mcp-{self.spec.name}")

    async def aclose(self) -> None:
        """Stop the owner task; it closes its session in its own task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    @property
    def tools(self) -> dict[str, Tool]:
        """The tools the server published (empty until connected)."""
        return self.session.tools

    def chat_tool(self) -> str | None:
        """The conversational tool: the configured one, else `chat`, else `<name>_chat`."""
        tools = self.session.tools
        if self.spec.tool:
            return self.spec.tool if self.spec.tool in tools else None
        for name in (CHAT_TOOL, f"{self.spec.name}_chat"):
            if name in tools:
                return name
        return None

    def resolved_mode(self) -> Literal["chat", "tools"]:
        """`chat` or `tools`; `auto` is `tools` only for a connected server without a chat tool."""
        if self.spec.mode != "auto":
            return self.spec.mode
        return "tools" if self.session.tools and self.chat_tool() is None else "chat"

    async def reachable(self) -> bool:
        """Whether the server answers an MCP `ping` on the held session (refused, a 5xx, a
        timeout or no session: no)."""
        if not self.session.connected:
            return False
        try:
            await self._request("ping", None, PROBE_TIMEOUT)
        except AgentError:
            return False
        return True

    async def _request(self, method: str, params: dict[str, Any] | None, timeout: float) -> Any:
        """One JSON-RPC request on its own POST; its result, or an AgentError."""
        try:
            session = await self.session.wait_session(min(timeout, CONNECT_WAIT))
        except AgentUnavailableError as exc:
            raise AgentUnreachable("not_connected", str(exc)) from None
        message = request_message(method, params)
        try:
            async with asyncio.timeout(timeout):  # cancels this POST only
                answer = await post_request(
                    self._client,
                    self.spec.url,
                    message,
                    session_id=self.session.session_id,
                    protocol_version=self.session.protocol_version,
                    connect_timeout=min(timeout, self._connect_timeout),
                    max_bytes=self._max_bytes,
                )
        except TimeoutError:
            raise AgentFailed("timeout", retry_key="timeout") from None
        except AgentUnreachable as exc:
            if exc.reason in REFUSED or exc.reason == SESSION_TERMINATED:
                self.session.mark_broken(session)  # the server is gone or restarted: reopen
            raise
        error = answer.get("error")
        if error is not None:
            text = error.get("message", "") if isinstance(error, dict) else str(error)
            raise AgentFailed("mcp_error", str(text)[:300])
        return answer.get("result")

    async def call_tool(self, tool: str, args: dict[str, Any], timeout: float) -> CallToolResult:
        """One attempt of one tool call; errors say whether the request reached the agent."""
        raw = await self._request("tools/call", {"name": tool, "arguments": args}, timeout)
        try:
            result = CallToolResult.model_validate(raw)
        except ValidationError:
            raise AgentFailed("invalid_result") from None
        self._schemas.check(self.session.tools.get(tool), result)
        return result

    async def chat(self, call: AgentCall, timeout: float) -> AgentReply:
        """The user's message, unchanged, to the conversational tool; its text blocks joined."""
        if not self.session.connected:
            try:
                await self.session.wait_session(min(timeout, CONNECT_WAIT))
            except AgentUnavailableError as exc:
                raise AgentUnreachable("not_connected", str(exc)) from None
        tool = self.chat_tool()
        if tool is None:
            raise AgentRejected("no_chat_tool")
        schema = self.session.tools[tool].inputSchema
        context = {
            "session_id": call.session_id,
            "config": dict(call.config),
            "request_id": call.request_id,
        }
        args = {
            "message": call.message,
            "session_id": for_schema(call.session_id, schema),
            "context": context,
        }
        result = await self.call_tool(tool, args, timeout)
        if result.isError:
            raise AgentRejected("tool_error", join_text(result)[:300])
        structured = result.structuredContent if isinstance(result.structuredContent, dict) else {}
        text = structured.get("reply") if isinstance(structured.get("reply"), str) else None
        url = structured.get("url")
        reply = (text or join_text(result)).strip()
        if not reply:
            raise AgentFailed("empty_reply")
        return AgentReply(reply, url if isinstance(url, str) and url.strip() else None)


def join_text(result: CallToolResult) -> str:
    """Join the text blocks of an MCP result into one plain string."""
    parts = [block.text for block in result.content if isinstance(block, TextContent)]
    return "\n".join(part.strip() for part in parts if part.strip())
