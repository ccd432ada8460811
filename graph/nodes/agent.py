"""One subgraph per agent: its `chat` tool called directly, or a tool-calling loop over its MCP tools."""

import logging
from functools import partial
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from graph.agents.breaker import CircuitOpenError
from graph.deps import GraphDeps
from graph.model_errors import MODEL_ERRORS
from graph.prompts import agent_system
from graph.reply_bound import final_reply
from graph.state import AgentResult, State, last_user_text

log = logging.getLogger(__name__)


class AgentState(State, total=False):
    """The parent's state plus the tool loop's private scratch messages (never checkpointed)."""

    scratch: Annotated[list[AnyMessage], add_messages]
    steps: int


def _result(agent: str, reply: str | None, error: str | None = None) -> dict[str, Any]:
    outcome: AgentResult = {
        "agent": agent,
        "ok": error is None and bool(reply),
        "reply": reply,
        "error": error,
    }
    return {"agent_result": outcome}


async def call_chat(state: AgentState, *, agent: str, deps: GraphDeps) -> dict[str, Any]:
    """The conversational path: the user's message unchanged to the agent's `chat` tool."""
    try:
        reply = await deps.agents.chat(
            agent,
            last_user_text(state.get("messages", [])),
            state.get("session_id", ""),
            state.get("bot_config") or {},
        )
    except CircuitOpenError:
        return _result(agent, None, "circuit_open")
    except Exception as exc:  # noqa: BLE001 - every agent failure becomes the responder's fallback
        log.warning(
            "agent call failed",
            extra={"agent": agent, "error": type(exc).__name__, "reason": str(exc)[:200]},
        )
        return _result(agent, None, type(exc).__name__)
    return _result(agent, final_reply(reply, deps))  # checkpointed: cleaned and bounded here too


async def call_model(state: AgentState, *, agent: str, deps: GraphDeps) -> dict[str, Any]:
    """One step of the tool loop: the model, bound to the agent's tools, answers or calls tools."""
    tools = deps.agents.langchain_tools(agent)
    if deps.model is None or not tools:
        return {**_result(agent, None, "agent_unavailable"), "scratch": []}
    prompt = [
        SystemMessage(agent_system(agent, state.get("bot_config") or {})),
        *state.get("messages", []),
        *state.get("scratch", []),
    ]
    try:
        response = await deps.model.bind_tools(tools).ainvoke(prompt)
    except MODEL_ERRORS as exc:
        deps.events.llm_fallback(type(exc).__name__)
        return _result(agent, None, f"model:{type(exc).__name__}")
    return {"scratch": [response], "steps": state.get("steps", 0) + 1}


async def run_tools(state: AgentState, *, agent: str, deps: GraphDeps) -> dict[str, Any]:
    """Execute the tool calls of the last model message against the agent's MCP server."""
    node = ToolNode(deps.agents.langchain_tools(agent), handle_tool_errors=True)
    output = await node.ainvoke({"messages": state.get("scratch", [])})
    return {"scratch": output["messages"]}


async def finish(state: AgentState, *, agent: str) -> dict[str, Any]:
    """The loop's answer: the model's last text once it stops calling tools."""
    last = (state.get("scratch") or [None])[-1]
    if isinstance(last, AIMessage) and not last.tool_calls and last.text.strip():
        return _result(agent, last.text.strip())
    return _result(agent, None, "max_steps")


def _pick_path(state: AgentState, *, agent: str, deps: GraphDeps) -> Literal["chat", "model"]:
    if deps.model is None or deps.agents.resolved_mode(agent) == "chat":
        return "chat"
    return "model"


def _after_model(state: AgentState, *, max_steps: int) -> Literal["tools", "finish", "__end__"]:
    if state.get("agent_result") is not None:
        return END
    last = (state.get("scratch") or [None])[-1]
    if isinstance(last, AIMessage) and last.tool_calls and state.get("steps", 0) < max_steps:
        return "tools"
    return "finish"


def build_agent_subgraph(agent: str, deps: GraphDeps) -> CompiledStateGraph:
    """The subgraph for one agent; which path runs is decided per turn from the agent's mode."""
    graph = StateGraph(AgentState)
    graph.add_node("chat", partial(call_chat, agent=agent, deps=deps))
    graph.add_node("model", partial(call_model, agent=agent, deps=deps))
    graph.add_node("tools", partial(run_tools, agent=agent, deps=deps))
    graph.add_node("finish", partial(finish, agent=agent))
    graph.add_conditional_edges(
        START, partial(_pick_path, agent=agent, deps=deps), ["chat", "model"]
    )
    graph.add_edge("chat", END)
    graph.add_conditional_edges(
        "model", partial(_after_model, max_steps=deps.agent_max_steps), ["tools", "finish", END]
    )
    graph.add_edge("tools", "model")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=False, name=f"agent_{agent}")
