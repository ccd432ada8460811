"""Conversational test agent: an MCP server whose `chat` tool answers deterministically."""

from __future__ import annotations

from typing import Any

from harness.agent_common import McpTestAgentState, make_parser, make_server, serve


def reply_text(name: str, message: str, turn: int) -> str:
    """The agent's deterministic reply to its `turn`-th message of a session."""
    return f"[{name}] recibido: {message} (turno {turn})"


def build(args: Any) -> tuple[Any, McpTestAgentState]:
    """The FastMCP server with a conversational tool (`chat`, or `--tool-name`) declaring
    session_id as str or int."""
    mcp, state = make_server(args)

    async def answer(message: str, session_id: Any, context: dict[str, Any] | None) -> Any:
        arguments = {"message": message, "session_id": session_id, "context": context}
        state.chat_calls.append({**arguments, "session_id_type": type(session_id).__name__})

        def produce() -> str:
            history = state.memory.setdefault(str(session_id), [])
            history.append(message)
            return reply_text(state.name, message, len(history))

        return await state.run_tool(args.tool_name, arguments, produce)

    description = (
        f"Conversa con el agente {args.name}: envía el mensaje del usuario y devuelve la respuesta."
    )
    if args.session_id_type == "int":

        async def chat(message: str, session_id: int, context: dict[str, Any] | None = None) -> str:
            return await answer(message, session_id, context)
    else:

        async def chat(  # type: ignore[misc]  # the int variant above, with a str session_id
            message: str, session_id: str, context: dict[str, Any] | None = None
        ) -> str:
            return await answer(message, session_id, context)

    mcp.tool(name=args.tool_name, description=description)(chat)
    return mcp, state


def main() -> None:
    parser = make_parser(__doc__ or "")
    parser.add_argument("--session-id-type", choices=("str", "int"), default="str")
    parser.add_argument("--tool-name", default="chat", help="the conversational tool's name")
    args = parser.parse_args()
    mcp, state = build(args)
    serve(mcp, state, args.host, args.port)


if __name__ == "__main__":
    main()
