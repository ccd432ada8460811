"""The responder node: the one place making the turn's reply, agent_used, action and fallbacks."""

import logging
import uuid
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage
from langgraph.runtime import Runtime

from graph.bot_config import BotConfig
from graph.context import TurnContext
from graph.decision import Decision
from graph.deps import GraphDeps
from graph.phrases import dont_know, fallback_phrase
from graph.reply_bound import final_reply, final_url
from graph.state import AgentResult, State
from graph.turn_log import (
    NO_NOTE,
    AgentCallRecord,
    Tokens,
    agent_call_record,
    bounded,
    turn_record,
)

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
    answer = AIMessage(reply, name=agent_used or ORCHESTRATOR, id=uuid.uuid4().hex)
    turns = state.get("turns", 0) + 1
    messages = state.get("messages", [])
    record = turn_record(
        turn=turns,
        message_id=answer.id,
        id_empresa=ctx.id_empresa,
        decision=decision,
        note=state.get("route_note") or NO_NOTE,
        agent_call=_call_record(decision, result),
        reply_by=answer.name or ORCHESTRATOR,
        merged=max(1, _unanswered(messages)),
        tokens=_tokens(ctx),
    )
    return {
        "reply": reply,
        "action": action,
        "agent_used": agent_used,
        "url": url,
        "active_agent": active,
        "turns": turns,
        "decision": None,
        "agent_result": None,
        "route_note": None,
        "turn_log": bounded(state.get("turn_log") or [], record, deps.max_history_turns),
        "messages": [answer, *trim_history(messages, deps.max_history_turns)],
    }


def _call_record(decision: Decision, result: AgentResult | None) -> AgentCallRecord | None:
    """The turn's agent call as recorded: its result, or, when the router delegated and no
    result came back, a call that produced nothing."""
    if result is not None:
        return agent_call_record(result["agent"], result["ok"], result["error"], result.get("ms"))
    if decision["action"] == "delegate" and decision["agent"]:
        return agent_call_record(decision["agent"], False, "no_result", None)
    return None


def _unanswered(messages: list[AnyMessage]) -> int:
    """The customer's messages since the last reply (more than one: merged into this turn)."""
    count = 0
    for message in reversed(messages):
        if not isinstance(message, HumanMessage):
            break
        count += 1
    return count


def _tokens(ctx: TurnContext) -> Tokens | None:
    usage = ctx.usage
    if usage is None:
        return None
    return {
        "input": usage.input_tokens,
        "output": usage.output_tokens,
        "model_calls": usage.model_calls,
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
