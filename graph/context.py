"""Per-turn runtime context: the client's bot config and the turn's limits, never checkpointed."""

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TurnContext:
    """What a caller gives one turn besides the message (LangGraph's `context_schema`).

    None of it is conversation memory: LangGraph passes it to the nodes and never writes it
    to a checkpoint, so a company's key or config is not stored.
    """

    bot_config: dict[str, Any] = field(default_factory=dict)
    """The client's ChatConfig (persona, phrases, extra keys passed through to agents)."""
    session_id: str = ""
    """The customer's canonical session id, as agents receive it (the checkpoint thread is the
    conversation's key: company and session id)."""
    id_empresa: int | None = None
    """The company, for its business context and the agents."""
    api_key: str | None = field(default=None, repr=False)
    """The company's own model key for this turn's model calls (a secret)."""
    request_id: str = ""
    """The turn's id, sent to agents as an idempotency key and written in logs and traces."""
    allowed_agents: tuple[str, ...] | None = None
    """The agents this bot may use (its modalidad's agent); None: every enabled agent."""
    modalidad: str | None = None
    """The recognised modalidad that restricted the turn (for metrics)."""
    direct: bool = False
    """ROUTING_MODE=direct: no router model; every turn goes to the modalidad's agent."""
    deadline: float | None = None
    """`time.monotonic()` by which the turn must answer (None: no deadline)."""

    def remaining(self, cap: float) -> float:
        """Seconds left before the deadline, at most `cap` (never negative)."""
        if self.deadline is None:
            return cap
        return max(0.0, min(cap, self.deadline - time.monotonic()))

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.deadline is not None and time.monotonic() >= self.deadline
