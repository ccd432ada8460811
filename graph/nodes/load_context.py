"""The load_context node: per-turn business context, and a clean slate for this turn's decision."""

from typing import Any

from graph.deps import GraphDeps
from graph.state import State


async def load_context(state: State, *, deps: GraphDeps) -> dict[str, Any]:
    """Fetch the company's business context (cached; None when unavailable)."""
    config = state.get("bot_config") or {}
    id_empresa = config.get("id_empresa")
    context = None
    if deps.contexts is not None and isinstance(id_empresa, int):
        context = await deps.contexts.get(id_empresa)
    return {"business_context": context, "decision": None, "agent_result": None}
