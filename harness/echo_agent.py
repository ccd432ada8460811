"""Hostile test agent: its `chat` tool replies with any text the test spells in the message.

`json:"<JSON string>"` replies with the decoded string (so NUL, lone surrogates and bidi overrides
travel as harmless escapes in the user's message and come back raw from the agent);
`repeat:<n>:<text>` replies with `text` repeated n times (a huge reply); anything else is echoed.
"""

from __future__ import annotations

import json
from typing import Any

from harness.agent_common import McpTestAgentState, make_parser, make_server, serve


def reply_for(message: str) -> str:
    """The agent's reply to a message (see the module docstring)."""
    if message.startswith("json:"):
        return str(json.loads(message[len("json:") :]))
    if message.startswith("repeat:"):
        _, count, text = message.split(":", 2)
        return text * int(count)
    return message


def build(args: Any) -> tuple[Any, McpTestAgentState]:
    """The FastMCP server with its `chat` tool."""
    mcp, state = make_server(args)

    async def chat(message: str, session_id: str, context: dict[str, Any] | None = None) -> str:
        arguments = {"message": message, "session_id": session_id, "context": context}
        state.chat_calls.append({**arguments, "session_id_type": "str"})
        return await state.run_tool("chat", arguments, lambda: reply_for(message))

    mcp.tool(name="chat", description=f"Conversa con el agente {args.name}.")(chat)
    return mcp, state


def main() -> None:
    args = make_parser(__doc__ or "").parse_args()
    mcp, state = build(args)
    serve(mcp, state, args.host, args.port)


if __name__ == "__main__":
    main()
