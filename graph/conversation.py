"""A stored conversation read back from a checkpoint's values (what /memory shows of it)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.checkpoint.base import Checkpoint

from graph.turn_log import TurnRecord


@dataclass(frozen=True)
class StoredMessage:
    """One stored message: who wrote it and, for a reply, the agent that answered."""

    role: Literal["user", "assistant"]
    content: str
    agent: str | None
    """The roster agent or the orchestrator that answered (None for the user's messages)."""
    details: TurnRecord | None = None
    """For a reply: why its turn went where it went (graph.turn_log; None for the user's
    messages and for replies stored before turns were recorded)."""


@dataclass(frozen=True)
class StoredConversation:
    """Only the conversation: never the client's config, the business context or a decision."""

    active_agent: str | None
    turns: int
    """Turns the stored history holds (bounded by MAX_HISTORY_TURNS)."""
    total_turns: int
    """Turns the conversation has had in all."""
    messages: list[StoredMessage]
    id_empresa: int | None = None
    """The company of the conversation's latest recorded turn (None: none recorded)."""
    last_turn: TurnRecord | None = None
    """The latest recorded turn (None: none recorded)."""


def stored_conversation(checkpoint: Checkpoint) -> StoredConversation:
    """The conversation a checkpoint of the graph holds."""
    values = checkpoint["channel_values"]
    messages = values.get("messages", [])
    log: list[TurnRecord] = values.get("turn_log") or []
    by_message = {record["message_id"]: record for record in log if record.get("message_id")}
    last = log[-1] if log else None
    return StoredConversation(
        active_agent=values.get("active_agent"),
        turns=count_turns(messages),
        total_turns=values.get("turns", 0),
        messages=[stored_message(m, by_message.get(m.id or "")) for m in messages],
        id_empresa=last.get("id_empresa") if last else None,
        last_turn=last,
    )


def stored_turns(checkpoint: Checkpoint) -> int:
    """Turns the stored history of a checkpoint of the graph holds."""
    return count_turns(checkpoint["channel_values"].get("messages", []))


def stored_message(message: BaseMessage, details: TurnRecord | None = None) -> StoredMessage:
    """One stored message (agent: who answered, None for the user; details: its turn's record)."""
    if isinstance(message, HumanMessage):
        return StoredMessage("user", message.text, None)
    return StoredMessage("assistant", message.text, message.name, details)


def count_turns(messages: Iterable[Any]) -> int:
    """Turns held in a message list: one per run of user messages (a merged burst of several
    messages is one turn)."""
    turns, previous_user = 0, False
    for message in messages:
        user = isinstance(message, HumanMessage)
        turns += user and not previous_user
        previous_user = user
    return turns


@dataclass(frozen=True)
class ConversationSummary:
    """A stored conversation in brief (one row of the console's list)."""

    id_empresa: int | None
    """The company of its latest recorded turn (None: no turn recorded yet)."""
    turns: int
    total_turns: int
    active_agent: str | None
    mode: Literal["bot", "human"]
    """Who answers the customer now: the bot, or a person (human handoff)."""
    last_activity: str
    """When its latest checkpoint was written (ISO-8601, UTC)."""
    last_customer_message: str | None
    """The customer's latest message, cut to SUMMARY_PREVIEW characters."""
    last_reply_by: str | None
    """Who wrote the latest reply (an agent, `orquestador`, or a person)."""
    last_outcome: str | None
    """The latest recorded turn's agent call outcome (delegated, failed, timed_out; None)."""


SUMMARY_PREVIEW = 120


def conversation_summary(checkpoint: Checkpoint) -> ConversationSummary:
    """A checkpoint's conversation in brief."""
    values = checkpoint["channel_values"]
    messages = values.get("messages", [])
    log: list[TurnRecord] = values.get("turn_log") or []
    last = log[-1] if log else None
    customer = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    reply = next((m for m in reversed(messages) if not isinstance(m, HumanMessage)), None)
    call = last.get("agent_call") if last else None
    return ConversationSummary(
        id_empresa=last.get("id_empresa") if last else None,
        turns=count_turns(messages),
        total_turns=values.get("turns", 0),
        active_agent=values.get("active_agent"),
        mode="bot",  # the human handoff (issue 25 item 1) says "human" here
        last_activity=checkpoint["ts"],
        last_customer_message=customer.text[:SUMMARY_PREVIEW] if customer else None,
        last_reply_by=reply.name if reply is not None else None,
        last_outcome=call["outcome"] if call else None,
    )
