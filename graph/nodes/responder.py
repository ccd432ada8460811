"""The responder node: the one place making the turn's reply, agent_used, action and fallbacks."""

import logging
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage
from langgraph.runtime import Runtime

from graph.context import TurnContext
from graph.deps import GraphDeps
from graph.phrases import fallback_phrase, phrase
from graph.reply_bound import final_reply
from graph.state import State

log = logging.getLogger(__name__)

ORCHESTRATOR = "orquestador"
_CLOSING_INTENTS = {"farewell", "escalation"}


async def respond(
    state: State, runtime: Runtime[TurnContext], *, deps: GraphDeps
) -> dict[str, Any]:
    """Turn the decision and the agent's result into the reply; bound the stored history."""
    config = (runtime.context or TurnContext()).bot_config
    decision: dict[str, Any] = state.get("decision") or {"action": "respond", "intent": "other"}
    result = state.get("agent_result")
    active = state.get("active_agent")
    agent = decision.get("agent")
    url = None
    if decision.get("action") == "delegate" and agent:
        active = agent
        if result and result.get("ok") and (result.get("reply") or "").strip():
            reply, action, agent_used = (result["reply"] or "").strip(), "delegate", agent
            url = result.get("url")
        else:
            error = result.get("error") if result else None
            if error == "deadline":
                deps.events.turn_timeout()
            log.warning(
                "agent failed; answering with the fallback phrase",
                extra={"agent": agent, "error": error},
            )
            reply, action, agent_used = fallback_phrase(config), "respond", None
    else:
        reply = (decision.get("reply") or "").strip() or phrase(config, "frase_no_sabe")
        action, agent_used = "respond", None
        if decision.get("intent") in _CLOSING_INTENTS:
            active = None
        url = greeting_file(decision, config, state.get("turns", 0))
    reply = final_reply(reply, deps)
    answer = AIMessage(reply, name=agent_used or ORCHESTRATOR)
    return {
        "reply": reply,
        "action": action,
        "agent_used": agent_used,
        "url": url,
        "active_agent": active,
        "turns": state.get("turns", 0) + 1,
        "decision": None,
        "agent_result": None,
        "messages": [answer, *trim_history(state.get("messages", []), deps.max_history_turns)],
    }


def greeting_file(decision: dict[str, Any], config: dict[str, Any], turns: int) -> str | None:
    """The bot's greeting file (`archivo_saludo`) when the orchestrator greets on a
    conversation's first turn; None on any later turn."""
    if turns or decision.get("intent") != "greeting":
        return None
    file = config.get("archivo_saludo")
    return (file.strip() or None) if isinstance(file, str) else None


def trim_history(messages: list[AnyMessage], max_turns: int) -> list[RemoveMessage]:
    """Removals that keep only the last `max_turns` turns once this turn's reply is added."""
    starts = [i for i, message in enumerate(messages) if isinstance(message, HumanMessage)]
    if len(starts) <= max_turns:
        return []
    cut = starts[-max_turns]
    return [RemoveMessage(id=message.id) for message in messages[:cut] if message.id]
