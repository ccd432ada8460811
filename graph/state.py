"""Graph state: what one turn is given and what a conversation keeps, checkpointed by session_id."""

from collections.abc import Sequence
from typing import Annotated, Literal, NotRequired, TypedDict

from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage
from langgraph.graph.message import add_messages

from graph.decision import Decision
from graph.turn_log import RouteNote, TurnRecord


class AgentResult(TypedDict):
    """What an agent subgraph produced for this turn."""

    agent: str
    ok: bool
    reply: str | None
    url: str | None
    error: str | None
    ms: NotRequired[float]
    """The agent node's time in milliseconds (set by the node around the call)."""


class InputState(TypedDict, total=False):
    """What a caller passes for one turn (the config and limits come as runtime context)."""

    messages: Annotated[list[AnyMessage], add_messages]
    """The conversation; a turn adds the user's message, the responder adds the reply."""


class State(InputState, total=False):
    """What a conversation keeps between turns, plus the hand-offs between this turn's nodes."""

    active_agent: str | None
    """The specialist agent that owns the conversation now (None when none)."""
    turns: int
    """How many turns this session has had in total."""
    decision: Decision | None
    """The router's decision for this turn (cleared by the responder)."""
    agent_result: AgentResult | None
    """The delegated agent's outcome for this turn (cleared by the responder)."""
    reply: str
    """The reply sent to the user this turn."""
    agent_used: str | None
    """The agent that produced the reply (None when the orchestrator answered)."""
    action: Literal["delegate", "respond"]
    """Whether an agent produced the reply."""
    url: str | None
    """A file or image link the agent sent with this turn's reply (None otherwise)."""
    route_note: RouteNote | None
    """How the router decided this turn (cleared by the responder)."""
    turn_log: list[TurnRecord]
    """Each stored turn's routing facts and outcome (bounded like the history; graph.turn_log)."""


def turn_start(messages: Sequence[BaseMessage]) -> int:
    """Where this turn's user messages begin: the trailing run of user messages (a burst of
    several messages answered by one turn is stored as several user messages in a row)."""
    start = len(messages)
    while start > 0 and isinstance(messages[start - 1], HumanMessage):
        start -= 1
    return start


def turn_user_text(
    messages: Sequence[BaseMessage], max_chars: int | None = None
) -> tuple[str, bool]:
    """This turn's user messages joined in arrival order, one line each, and whether it was cut.

    Several messages are bounded by `max_chars` (the agents' and model's limit): the oldest lines
    are kept whole, the first line that does not fit is cut and the later ones dropped. One
    message is never cut (its length is bounded at the door)."""
    texts = [message.text for message in messages[turn_start(messages) :]]
    joined = "\n".join(texts)
    if max_chars is None or len(texts) <= 1 or len(joined) <= max_chars:
        return joined, False
    return joined[:max_chars].rstrip(), True
