"""Per-turn runtime context: the client's bot config and the turn's limits, never checkpointed."""

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from graph.bot_config import BotConfig
from graph.usage import TurnUsage


@dataclass(frozen=True)
class TurnContext:
    """What a caller gives one turn besides the message (LangGraph's `context_schema`).

    None of it is conversation memory: LangGraph passes it to the nodes and never writes it
    to a checkpoint, so a company's key or config is not stored.
    """

    bot_config: BotConfig = field(default_factory=BotConfig)
    """The client's bot configuration, typed (persona, phrases; every key kept for agents)."""
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
    usage: TurnUsage | None = field(default=None, compare=False)
    """Collects the turn's token counts (model calls and agents' reported usage)."""
    offline: bool = False
    """No model for this turn (e.g. the company is past its budget on the server's key)."""

    def __post_init__(self) -> None:
        # LangGraph Studio (and any JSON caller) gives the context as plain JSON: a config mapping
        if isinstance(self.bot_config, Mapping):
            object.__setattr__(self, "bot_config", BotConfig.from_mapping(self.bot_config))

    def remaining(self, cap: float) -> float:
        """Seconds left before the deadline, at most `cap` (never negative)."""
        if self.deadline is None:
            return cap
        return max(0.0, min(cap, self.deadline - time.monotonic()))

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.deadline is not None and time.monotonic() >= self.deadline
