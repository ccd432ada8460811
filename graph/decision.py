"""The router's decision: who answers this turn, shared by the model router and the offline router."""

from typing import Literal

from pydantic import BaseModel, Field

AgentName = Literal["reserva", "cita", "venta"]
AGENT_NAMES: tuple[str, ...] = ("reserva", "cita", "venta")

Intent = Literal[
    "greeting", "farewell", "thanks", "escalation", "business", "clarify", "delegate", "other"
]


class RouteDecision(BaseModel):
    """What the router decided for one turn."""

    action: Literal["delegate", "respond"] = Field(
        description="'delegate' hands the turn to a specialist agent; 'respond' answers directly."
    )
    agent: AgentName | None = Field(
        default=None, description="The specialist agent when action is 'delegate', else null."
    )
    reply: str | None = Field(
        default=None,
        description="The reply in Spanish when action is 'respond' (null when delegating).",
    )
    intent: Intent = Field(
        default="other",
        description="Why: greeting, farewell, thanks, escalation, business, clarify, delegate, other.",
    )
