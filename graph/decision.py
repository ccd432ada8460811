"""The router's decision (who answers this turn), shared by the model and the offline router."""

from functools import lru_cache
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, Field, create_model

Intent = Literal[
    "greeting", "farewell", "thanks", "escalation", "business", "clarify", "delegate", "other"
]


class Decision(TypedDict):
    """The router's decision as the graph's state carries it to the next nodes (a plain dict, so
    checkpoints hold no model class; decisions stored by older versions have this shape too)."""

    action: Literal["delegate", "respond"]
    agent: str | None
    reply: str | None
    intent: Intent


class RouteDecision(BaseModel):
    """What the router decided for one turn."""

    action: Literal["delegate", "respond"] = Field(
        description="'delegate' hands the turn to a specialist agent; 'respond' answers directly."
    )
    agent: str | None = Field(
        default=None, description="The specialist agent when action is 'delegate', else null."
    )
    reply: str | None = Field(
        default=None,
        description="The reply in Spanish when action is 'respond' (null when delegating).",
    )
    intent: Intent = Field(
        default="other",
        description="Why: greeting, farewell, thanks, escalation, business, clarify, delegate, "
        "other.",
    )

    def handoff(self) -> Decision:
        """This decision as the state's `decision`."""
        return {
            "action": self.action,
            "agent": self.agent,
            "reply": self.reply,
            "intent": self.intent,
        }


@lru_cache(maxsize=256)
def decision_schema(agents: tuple[str, ...]) -> type[RouteDecision]:
    """RouteDecision whose `agent` may only name `agents` (the schema the model is shown)."""
    # A Literal built from the roster at run time (a dynamic type: Any for mypy).
    annotation: Any = Literal[agents] | None if agents else None
    return create_model(
        "RouteDecision",
        __base__=RouteDecision,
        agent=(
            annotation,
            Field(default=None, description="The agent when action is 'delegate', else null."),
        ),
    )
