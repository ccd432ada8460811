"""What the graph's nodes are given: built once in the app's lifespan (or a test) and passed in."""

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from graph.agents.registry import AgentRegistry
from graph.business_context import BusinessContextClient
from graph.decision import RouteDecision


class GraphEvents(Protocol):
    """Hooks the graph reports to (the server counts them in its metrics)."""

    def llm_fallback(self, reason: str) -> None: ...

    def reply_truncated(self) -> None: ...


class _NoEvents:
    def llm_fallback(self, reason: str) -> None:
        return None

    def reply_truncated(self) -> None:
        return None


@dataclass(frozen=True)
class GraphDeps:
    """The services a turn needs; `model=None` means the offline router answers."""

    agents: AgentRegistry
    contexts: BusinessContextClient | None = None
    model: BaseChatModel | None = None
    model_timeout: float = 60.0
    max_history_turns: int = 10
    agent_max_steps: int = 6
    max_reply_chars: int = 4096
    events: GraphEvents = field(default_factory=_NoEvents)

    @cached_property
    def router_model(self) -> Runnable[Any, Any] | None:
        """The model bound to the RouteDecision schema, built once (None when routing offline)."""
        if self.model is None:
            return None
        return self.model.with_structured_output(RouteDecision)
