"""The graph factory: the one door used by the server, the tests and langgraph.json alike."""

from functools import partial
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer

from graph.context import TurnContext
from graph.deps import GraphDeps
from graph.nodes.agent import agent_node_name, build_agent_node
from graph.nodes.responder import respond
from graph.nodes.router import route
from graph.state import InputState, State

ROUTER = "router"
RESPONDER = "responder"


def build_graph(
    deps: GraphDeps, *, checkpointer: Checkpointer = None, name: str = "orquestador"
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """START → router → (responder | agent subgraph → responder) → END."""
    graph = StateGraph(State, context_schema=TurnContext, input_schema=InputState)
    graph.add_node(ROUTER, partial(route, deps=deps))
    targets = {RESPONDER: RESPONDER}
    for spec in deps.agents.roster.enabled:
        node = agent_node_name(spec.name)
        graph.add_node(node, build_agent_node(spec, deps))
        graph.add_edge(node, RESPONDER)
        targets[spec.name] = node
    graph.add_node(RESPONDER, partial(respond, deps=deps))
    graph.add_edge(START, ROUTER)
    graph.add_conditional_edges(ROUTER, partial(_next, targets=targets), list(targets.values()))
    graph.add_edge(RESPONDER, END)
    return graph.compile(checkpointer=checkpointer, name=name)


def _next(state: State, *, targets: dict[str, str]) -> str:
    decision = state.get("decision")
    if decision is None or decision["action"] != "delegate":
        return RESPONDER
    return targets.get(decision["agent"] or "", RESPONDER)
