"""The responder node: the one place making the turn's reply, agent_used, action and fallbacks."""

import logging
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage
from langgraph.runtime import Runtime

from graph.bot_config import BotConfig
from graph.context import TurnContext
from graph.decision import Decision
from graph.deps import GraphDeps
from graph.phrases import dont_know, fallback_phrase
from graph.reply_bound import final_reply, final_url
from graph.state import State

log = logging.getLogger(__name__)

ORCHESTRATOR = "orquestador"
_CLOSING_INTENTS = {"farewell", "escalation"}
NO_DECISION: Decision = {"action": "respond", "agent": None, "reply": None, "intent": "other"}
"""What the responder reads when no router ran (a caller that wrote the state itself)."""


async def respond(
    state: State, runtime: Runtime[TurnContext], *, deps: GraphDeps
) -> dict[str, Any]:
    """Turn the decision and the agent's result into the reply; bound the stored history."""
    ctx = runtime.context or TurnContext()
    config = ctx.bot_config
    decision = state.get("decision") or NO_DECISION
    result = state.get("agent_result")
    active = state.get("active_agent")
    agent = decision["agent"]
    url = None
    if decision["action"] == "delegate" and agent:
        active = agent
        if result and result["ok"] and (result["reply"] or "").strip():
            reply, action, agent_used = (result["reply"] or "").strip(), "delegate", agent
            url = final_url(result["url"], deps, ctx.api_key)
        else:
            error = result["error"] if result else None
            if error == "deadline":
                deps.events.turn_timeout()
            log.warning(
                "agent failed; answering with the fallback phrase",
                extra={"agent": agent, "error": error},
            )
            reply, action, agent_used = fallback_phrase(config), "respond", None
    else:
        reply = (decision["reply"] or "").strip() or dont_know(config)
        action, agent_used = "respond", None
        if decision["intent"] in _CLOSING_INTENTS:
            active = None
        url = greeting_file(decision, config, state.get("turns", 0))
    reply = final_reply(reply, deps, ctx.api_key)
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


def greeting_file(decision: Decision, config: BotConfig, turns: int) -> str | None:
    """The bot's greeting file (`archivo_saludo`) when the orchestrator greets on a
    conversation's first turn; None on any later turn."""
    if turns or decision["intent"] != "greeting":
        return None
    return config.archivo_saludo


def trim_history(messages: list[AnyMessage], max_turns: int) -> list[RemoveMessage]:
    """Removals that keep only the last `max_turns` turns once this turn's reply is added."""
    starts = [  # a turn starts at a run of user messages (a merged burst is several)
        i
        for i, message in enumerate(messages)
        if isinstance(message, HumanMessage)
        and (i == 0 or not isinstance(messages[i - 1], HumanMessage))
    ]
    if len(starts) <= max_turns:
        return []
    cut = starts[-max_turns]
    return [RemoveMessage(id=message.id) for message in messages[:cut] if message.id]
