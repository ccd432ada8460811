"""Stored conversations, read and deleted through the checkpointer (no side dictionary)."""

from collections.abc import Iterable
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver


class SessionStore:
    """Lists and deletes sessions (checkpoint threads)."""

    def __init__(self, checkpointer: BaseCheckpointSaver) -> None:
        self._saver = checkpointer

    async def turns_by_session(self) -> dict[str, int]:
        """Session id → number of turns its stored conversation holds."""
        seen: dict[str, int] = {}
        async for item in self._saver.alist(None):
            thread = item.config["configurable"]["thread_id"]
            if thread in seen or item.config["configurable"].get("checkpoint_ns"):
                continue  # newest first: the first checkpoint of a thread is its latest
            seen[thread] = count_turns(item.checkpoint["channel_values"].get("messages", []))
        return seen

    async def clear(self, session_id: str) -> None:
        """Delete every checkpoint and write of a session."""
        await self._saver.adelete_thread(session_id)


def count_turns(messages: Iterable[Any]) -> int:
    """Turns held in a message list (one per user message)."""
    return sum(1 for message in messages if isinstance(message, HumanMessage))
