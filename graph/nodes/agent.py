"""One node per agent: its conversational call made directly, or a tool-loop subgraph over its MCP
tools."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.managed import RemainingSteps
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime

from common.breaker import CircuitOpenError
from graph.agents.resilience import DeadlineExceeded
from graph.agents.roster import AgentSpec
from graph.agents.transport import AgentCall, AgentError
from graph.context import TurnContext
from graph.deps import GraphDeps
from graph.model_errors import is_model_failure
from graph.prompts import agent_system
from graph.state import AgentResult, State, turn_start, turn_user_text
from graph.turn_log import elapsed_ms

log = logging.getLogger(__name__)

AGENT_NODE_PREFIX = "agent_"
"""An agent's node in the graph is `agent_<name>` (its tool loop runs under that namespace)."""
TOOL_LOOP_MODEL = "model"
"""The tool loop's model node: the only node whose streamed text is the agent's answer."""
STEPS_RESERVED = 2
"""Steps the tool loop keeps for its last model answer and `finish`."""


class ToolLoopState(State, total=False):
    """The parent's state plus the tool loop's private scratch messages (never checkpointed)."""

    scratch: Annotated[list[AnyMessage], add_messages]
    remaining_steps: RemainingSteps


def _result(
    agent: str, reply: str | None, error: str | None = None, url: str | None = None
) -> dict[str, Any]:
    outcome: AgentResult = {
        "agent": agent,
        "ok": error is None and bool(reply),
        "reply": reply,
        "url": url,
        "error": error,
    }
    return {"agent_result": outcome}


def _context(runtime: Runtime[TurnContext]) -> TurnContext:
    return runtime.context or TurnContext()


async def call_chat(
    state: State, runtime: Runtime[TurnContext], *, agent: str, deps: GraphDeps
) -> dict[str, Any]:
    """The conversational path: the user's message unchanged to the agent."""
    ctx = _context(runtime)
    call = AgentCall(
        message=turn_user_text(state.get("messages", []), deps.max_turn_text_chars)[0],
        session_id=ctx.session_id,
        config=ctx.bot_config.values,
        id_empresa=ctx.id_empresa,
        api_key=ctx.api_key,
        request_id=ctx.request_id,
    )
    try:
        answer = await deps.agents.chat(agent, call, deadline=ctx.deadline)
    except CircuitOpenError:
        return _result(agent, None, "circuit_open")
    except AgentError as exc:
        reason = "deadline" if isinstance(exc, DeadlineExceeded) or ctx.expired() else exc.reason
        log.warning("agent call failed", extra={"agent": agent, "error": exc.reason})
        if exc.detail:
            log.debug("agent error detail", extra={"agent": agent, "reason": exc.detail})
        return _result(agent, None, reason)
    except Exception as exc:  # a bug must not cost the user a reply: logged, counted
        log.error("agent path error", exc_info=exc, extra={"agent": agent})
        deps.events.internal_error("agent")
        return _result(agent, None, "internal")
    if answer.usage is not None and ctx.usage is not None:
        ctx.usage.add_agent(agent, answer.usage)
    return _result(agent, answer.reply, url=answer.url)


async def call_model(
    state: ToolLoopState, runtime: Runtime[TurnContext], *, spec: AgentSpec, deps: GraphDeps
) -> dict[str, Any]:
    """One step of the tool loop: the model, bound to the agent's tools, answers or calls tools."""
    ctx = _context(runtime)
    tools = deps.agents.langchain_tools(spec.name)
    model = deps.turn_model(ctx)
    if model is None or not tools:
        return {**_result(spec.name, None, "agent_unavailable"), "scratch": []}
    messages = state.get("messages", [])
    start = turn_start(messages)
    text, _ = turn_user_text(messages, deps.max_turn_text_chars)
    prompt = [
        SystemMessage(agent_system(spec, ctx.bot_config)),
        *messages[:start],
        HumanMessage(text),  # this turn's messages, one line each (a merged burst), bounded
        *state.get("scratch", []),
    ]
    try:
        async with asyncio.timeout(ctx.remaining(deps.model_timeout)):
            response = await model.model.bind_tools(tools).ainvoke(prompt)
    except Exception as exc:
        if not is_model_failure(exc):
            raise
        if ctx.expired():
            return _result(spec.name, None, "deadline")
        log.warning("agent's model failed", extra={"agent": spec.name, "error": type(exc).__name__})
        deps.events.llm_fallback(type(exc).__name__)
        return _result(spec.name, None, f"model:{type(exc).__name__}")
    return {"scratch": [response]}


async def run_tools(
    state: ToolLoopState, runtime: Runtime[TurnContext], *, agent: str, deps: GraphDeps
) -> dict[str, Any]:
    """Execute the tool calls of the last model message against the agent's MCP server."""
    ctx = _context(runtime)
    node = ToolNode(deps.agents.langchain_tools(agent), handle_tool_errors=True)
    try:
        async with asyncio.timeout(ctx.remaining(3600.0)):
            output = await node.ainvoke({"messages": state.get("scratch", [])})
    except TimeoutError:
        return _result(agent, None, "deadline")
    return {"scratch": output["messages"]}


async def finish(state: ToolLoopState, *, agent: str) -> dict[str, Any]:
    """The loop's answer: the model's last text once it stops calling tools."""
    last = _last(state)
    if isinstance(last, AIMessage) and not last.tool_calls and last.text.strip():
        return _result(agent, last.text.strip())
    return _result(agent, None, "max_steps")


def _last(state: ToolLoopState) -> AnyMessage | None:
    scratch = state.get("scratch") or []
    return scratch[-1] if scratch else None


def _after_model(state: ToolLoopState) -> Literal["tools", "finish", "__end__"]:
    if state.get("agent_result") is not None:
        return "__end__"
    last = _last(state)
    steps_left = state.get("remaining_steps", STEPS_RESERVED + 1) > STEPS_RESERVED
    if isinstance(last, AIMessage) and last.tool_calls and steps_left:
        return "tools"
    return "finish"


def _after_tools(state: ToolLoopState) -> Literal["model", "__end__"]:
    return "__end__" if state.get("agent_result") is not None else "model"


def build_agent_node(spec: AgentSpec, deps: GraphDeps) -> Callable[..., Awaitable[dict[str, Any]]]:
    """The graph node `agent_<name>`: the conversational call made directly (one agent call,
    no nested graph loop), or, for an MCP tool server with a model, its tool-loop subgraph."""
    tool_loop = build_tool_loop(spec, deps)

    async def agent_node(state: State, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        started = time.perf_counter()
        model = deps.turn_model(_context(runtime)) is not None
        if deps.agents.resolved_mode(spec.name, model=model) == "tools":
            loop = await tool_loop.ainvoke(state, context=runtime.context)
            result = loop.get("agent_result")
        else:
            result = (await call_chat(state, runtime, agent=spec.name, deps=deps))["agent_result"]
        if result is not None:  # the call's time, for the turn's record
            result = {**result, "ms": elapsed_ms(started)}
        return {"agent_result": result}

    agent_node.__name__ = agent_node_name(spec.name)
    return agent_node


def build_tool_loop(spec: AgentSpec, deps: GraphDeps) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The tool-calling loop of one MCP tool server: model ⇄ tools until the model answers."""
    name = spec.name
    graph = StateGraph(ToolLoopState, context_schema=TurnContext)
    graph.add_node(TOOL_LOOP_MODEL, partial(call_model, spec=spec, deps=deps))
    graph.add_node("tools", partial(run_tools, agent=name, deps=deps))
    graph.add_node("finish", partial(finish, agent=name))
    graph.add_edge(START, TOOL_LOOP_MODEL)
    graph.add_conditional_edges(TOOL_LOOP_MODEL, _after_model, ["tools", "finish", END])
    graph.add_conditional_edges("tools", _after_tools, ["model", END])
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=False, name=agent_node_name(name))


def agent_node_name(agent: str) -> str:
    """The graph node of agent `agent`."""
    return f"{AGENT_NODE_PREFIX}{agent}"
