"""A stored conversation read back from a checkpoint's values (what /memory shows of it)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.checkpoint.base import Checkpoint


@dataclass(frozen=True)
class StoredMessage:
    """One stored message: who wrote it and, for a reply, the agent that answered."""

    role: Literal["user", "assistant"]
    content: str
    agent: str | None
    """The roster agent or the orchestrator that answered (None for the user's messages)."""


@dataclass(frozen=True)
class StoredConversation:
    """Only the conversation: never the client's config, the business context or a decision."""

    active_agent: str | None
    turns: int
    """Turns the stored history holds (bounded by MAX_HISTORY_TURNS)."""
    total_turns: int
    """Turns the conversation has had in all."""
    messages: list[StoredMessage]


def stored_conversation(checkpoint: Checkpoint) -> StoredConversation:
    """The conversation a checkpoint of the graph holds."""
    values = checkpoint["channel_values"]
    messages = values.get("messages", [])
    return StoredConversation(
        active_agent=values.get("active_agent"),
        turns=count_turns(messages),
        total_turns=values.get("turns", 0),
        messages=[stored_message(message) for message in messages],
    )


def stored_turns(checkpoint: Checkpoint) -> int:
    """Turns the stored history of a checkpoint of the graph holds."""
    return count_turns(checkpoint["channel_values"].get("messages", []))


def stored_message(message: BaseMessage) -> StoredMessage:
    """One stored message (agent: who answered, None for the user)."""
    if isinstance(message, HumanMessage):
        return StoredMessage("user", message.text, None)
    return StoredMessage("assistant", message.text, message.name)


def count_turns(messages: Iterable[Any]) -> int:
    """Turns held in a message list: one per run of user messages (a merged burst of several
    messages is one turn)."""
    turns, previous_user = 0, False
    for message in messages:
        user = isinstance(message, HumanMessage)
        turns += user and not previous_user
        previous_user = user
    return turns
