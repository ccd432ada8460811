"""Graph state: the narrow per-turn input and the full state checkpointed by session_id."""

from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.graph.message import add_messages


class AgentResult(TypedDict):
    """What an agent subgraph produced for this turn."""

    agent: str
    ok: bool
    reply: str | None
    error: str | None


class InputState(TypedDict, total=False):
    """What a caller passes for one turn."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation; a turn adds the user's message, the responder adds the reply."""
    session_id: str
    """The conversation id (also the checkpoint thread id)."""
    bot_config: dict[str, Any]
    """The client's ChatConfig for this turn (persona, phrases, extra keys passed through)."""


class State(InputState, total=False):
    """Everything the graph keeps between nodes and, checkpointed, between turns."""

    business_context: str | None
    """The company's business context text for this turn (None when unavailable)."""
    active_agent: str | None
    """The specialist agent that owns the conversation now (None when none)."""
    decision: dict[str, Any] | None
    """The router's RouteDecision for this turn, as a dict."""
    agent_result: AgentResult | None
    """The delegated agent's outcome for this turn."""
    reply: str
    """The reply sent to the user this turn."""
    agent_used: str | None
    """The agent that produced the reply (None when the orchestrator answered)."""
    action: Literal["delegate", "respond"]
    """Whether an agent produced the reply."""
    turns: int
    """How many turns this session has had in total."""


def last_user_text(messages: list[AnyMessage]) -> str:
    """The text of the latest user message."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    return ""
