"""MCP agents: the conversational tool called on a held session, or its domain tools for a loop."""

import asyncio
import contextlib
import logging
from typing import Any, Literal

import anyio
import httpx
from mcp.shared.exceptions import McpError
from mcp.types import (
    CallToolRequest,
    CallToolRequestParams,
    CallToolResult,
    ClientRequest,
    TextContent,
    Tool,
)

from graph.agents.mcp_session import AgentUnavailableError, McpSession
from graph.agents.output_schema import OutputSchemas
from graph.agents.roster import AgentSpec
from graph.agents.session_id import for_schema
from graph.agents.transport import (
    AgentCall,
    AgentFailed,
    AgentRejected,
    AgentReply,
    AgentUnreachable,
)

log = logging.getLogger(__name__)

CHAT_TOOL = "chat"
SESSION_TERMINATED = 32600
"""The SDK's error code when the server answered 404 for our session: the call was not run."""
CONNECT_WAIT = 5.0


class McpTransport:
    """One agent server over streamable HTTP; its session is owned by one background task."""

    def __init__(self, spec: AgentSpec, connect_timeout: float) -> None:
        self.spec = spec
        self.session = McpSession(spec.name, spec.url, connect_timeout=connect_timeout)
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
        """Whether the held session is open."""
        return self.session.connected

    async def call_tool(self, tool: str, args: dict[str, Any], timeout: float) -> CallToolResult:
        """One attempt of one tool call; errors say whether the request reached the agent."""
        try:
            session = await self.session.wait_session(min(timeout, CONNECT_WAIT))
        except AgentUnavailableError as exc:
            raise AgentUnreachable("not_connected", str(exc)) from None
        request = ClientRequest(
            CallToolRequest(params=CallToolRequestParams(name=tool, arguments=args))
        )
        try:
            async with asyncio.timeout(timeout):
                # the SDK's call_tool without its per-call schema compilation (output_schema.py)
                result = await session.send_request(request, CallToolResult)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, httpx.ConnectError):
            self.session.mark_broken(session)  # the request could not be written: not sent
            raise AgentUnreachable("session_closed") from None
        except McpError as exc:
            if exc.error.code == SESSION_TERMINATED:
                self.session.mark_broken(session)  # the server restarted: it ran nothing
                raise AgentUnreachable("session_terminated") from None
            raise AgentFailed("mcp_error", exc.error.message) from None
        except TimeoutError:
            # The SDK can hang forever on a server that died mid-call: reopen the session.
            self.session.mark_broken(session)
            raise AgentFailed("timeout") from None
        except (anyio.EndOfStream, httpx.TransportError, ConnectionError) as exc:
            self.session.mark_broken(session)
            raise AgentFailed(type(exc).__name__) from None
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
