"""The router node: one structured-output model call (or the offline router) decides who answers."""

import asyncio
import logging
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage

from graph.decision import RouteDecision
from graph.deps import GraphDeps
from graph.model_errors import MODEL_ERRORS
from graph.offline.router import route_offline
from graph.phrases import phrase
from graph.prompts import context_block, router_system
from graph.state import State, last_user_text

log = logging.getLogger(__name__)


async def route(state: State, *, deps: GraphDeps) -> dict[str, Any]:
    """Decide delegate/respond and the agent; only enabled agents can come out of here."""
    config = state.get("bot_config") or {}
    enabled = deps.agents.names
    active = state.get("active_agent")
    text = last_user_text(state.get("messages", []))
    decision: RouteDecision | None = None
    if deps.model is not None:
        try:
            decision = await _route_with_model(state, deps, enabled, active)
        except MODEL_ERRORS as exc:
            log.warning(
                "model router failed; using the offline router", extra={"error": type(exc).__name__}
            )
            deps.events.llm_fallback(type(exc).__name__)
    if decision is None:
        decision = route_offline(
            text,
            active_agent=active,
            enabled_agents=enabled,
            config=config,
            business_context=state.get("business_context"),
        )
    return {"decision": enforce_allowed(decision, enabled, config).model_dump()}


async def _route_with_model(
    state: State, deps: GraphDeps, enabled: list[str], active: str | None
) -> RouteDecision:
    assert deps.router_model is not None
    config = state.get("bot_config") or {}
    messages = state.get("messages", [])
    history, current = messages[:-1], messages[-1:]
    prompt: list[AnyMessage] = [
        SystemMessage(router_system(config, enabled, active)),
        HumanMessage(context_block(state.get("business_context"), history)),
        *current,
    ]
    async with asyncio.timeout(deps.model_timeout):
        result = await deps.router_model.ainvoke(prompt)
    if not isinstance(result, RouteDecision):
        result = RouteDecision.model_validate(result)
    return result


def enforce_allowed(
    decision: RouteDecision, enabled: list[str], config: dict[str, Any]
) -> RouteDecision:
    """Keep the decision inside the allowed set, whatever the model or the user said."""
    if decision.action == "delegate":
        if decision.agent in enabled:
            return decision.model_copy(update={"reply": None})
        log.info(
            "router picked an agent that is not enabled; answering instead",
            extra={"agent_requested": decision.agent},
        )
        return RouteDecision(
            action="respond", agent=None, intent="clarify", reply=phrase(config, "frase_no_sabe")
        )
    reply = (decision.reply or "").strip() or phrase(config, "frase_no_sabe")
    return decision.model_copy(update={"agent": None, "reply": reply})
