"""What the graph's nodes are given: built once in the app's lifespan (or a test) and passed in."""

from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from graph.agents.registry import AgentRegistry
from graph.agents.roster import AgentSpec
from graph.business_context import BusinessContextClient
from graph.context import TurnContext
from graph.decision import decision_schema


class GraphEvents(Protocol):
    """Hooks the graph reports to (the server counts them in its metrics)."""

    def llm_fallback(self, reason: str) -> None: ...

    def internal_error(self, where: str) -> None: ...

    def routing_correction(self, modalidad: str, chosen: str) -> None: ...

    def turn_timeout(self) -> None: ...

    def continuity_correction(self, agent: str) -> None: ...

    def reply_truncated(self) -> None: ...

    def url_dropped(self, problem: str) -> None: ...

    def turn_text_cut(self) -> None: ...


class NoEvents:
    """GraphEvents that count nothing (Studio, tests of the graph alone)."""

    def llm_fallback(self, reason: str) -> None:
        """Ignore."""

    def internal_error(self, where: str) -> None:
        """Ignore."""

    def routing_correction(self, modalidad: str, chosen: str) -> None:
        """Ignore."""

    def turn_timeout(self) -> None:
        """Ignore."""

    def continuity_correction(self, agent: str) -> None:
        """Ignore."""

    def reply_truncated(self) -> None:
        """Ignore."""

    def url_dropped(self, problem: str) -> None:
        """Ignore."""

    def turn_text_cut(self) -> None:
        """Ignore."""


class TurnModel:
    """A chat model and its structured-output routers (one per agent set), built once per key."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model
        self._routers: dict[tuple[str, ...], Runnable[Any, Any]] = {}

    def router(self, agents: tuple[str, ...]) -> Runnable[Any, Any]:
        """The model bound to the RouteDecision schema of `agents` (built on first use)."""
        runnable = self._routers.get(agents)
        if runnable is None:
            # The model is shown only `agents`; its answer is parsed leniently (as a dict) so that
            # another choice reaches enforce_allowed and is corrected, not lost as a parse error.
            schema = decision_schema(agents).model_json_schema()
            runnable = self.model.with_structured_output(schema)
            self._routers[agents] = runnable
        return runnable


class ModelSource(Protocol):
    """The chat model of a turn: the company's own key when it sent one, else the server's."""

    def get(self, api_key: str | None) -> TurnModel | None: ...


@dataclass(frozen=True)
class GraphDeps:
    """The services a turn needs; no model for a turn means the offline router answers."""

    agents: AgentRegistry
    contexts: BusinessContextClient | None = None
    models: ModelSource | None = None
    model_timeout: float = 60.0
    max_history_turns: int = 10
    max_reply_chars: int = 4096
    max_url_chars: int = 2048
    max_turn_text_chars: int = 4000
    """The bound of a turn's user text when it joins several messages (a merged burst)."""
    events: GraphEvents = field(default_factory=NoEvents)

    def model(self, api_key: str | None) -> TurnModel | None:
        """This turn's chat model (None: route offline)."""
        return self.models.get(api_key) if self.models is not None else None

    def turn_model(self, ctx: TurnContext) -> TurnModel | None:
        """The model of this turn (None: route offline, also when the turn is held offline)."""
        return None if ctx.offline else self.model(ctx.api_key)

    def allowed(self, restricted: tuple[str, ...] | None) -> list[AgentSpec]:
        """The enabled agents a turn may use (a modalidad restricts them)."""
        enabled = self.agents.roster.enabled
        if restricted is None:
            return list(enabled)
        return [spec for spec in enabled if spec.name in restricted]
