"""The graph factory: the one door used by the server, the tests and langgraph.json alike."""

from functools import partial
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from graph.deps import GraphDeps
from graph.nodes.agent import build_agent_subgraph
from graph.nodes.load_context import load_context
from graph.nodes.responder import respond
from graph.nodes.router import route
from graph.state import InputState, State

RESPONDER = "responder"


def agent_node(name: str) -> str:
    """The graph node name of an agent's subgraph."""
    return f"agent_{name}"


def build_graph(
    deps: GraphDeps, *, checkpointer: Checkpointer = None, name: str = "orquestador"
) -> CompiledStateGraph:
    """START → load_context → router → (responder | agent subgraph → responder) → END."""
    graph = StateGraph(State, input_schema=InputState)
    graph.add_node("load_context", partial(load_context, deps=deps))
    graph.add_node("router", partial(route, deps=deps))
    targets = [RESPONDER]
    for agent in deps.agents.names:
        graph.add_node(agent_node(agent), build_agent_subgraph(agent, deps))
        graph.add_edge(agent_node(agent), RESPONDER)
        targets.append(agent_node(agent))
    graph.add_node(RESPONDER, partial(respond, deps=deps))
    graph.add_edge(START, "load_context")
    graph.add_edge("load_context", "router")
    graph.add_conditional_edges("router", partial(_next, agents=tuple(deps.agents.names)), targets)
    graph.add_edge(RESPONDER, END)
    return graph.compile(checkpointer=checkpointer, name=name)


def _next(state: State, *, agents: tuple[str, ...]) -> str:
    decision: dict[str, Any] = state.get("decision") or {}
    agent = decision.get("agent")
    if decision.get("action") == "delegate" and agent in agents:
        return agent_node(agent)
    return RESPONDER
