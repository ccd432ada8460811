"""The router node: the business context, then one structured-output model call (or the offline
router) decides who answers; only the turn's allowed agents can come out of here."""

import asyncio
import logging
import time
from typing import Any

from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from graph.agents.roster import AgentSpec
from graph.context import TurnContext
from graph.decision import Decision, RouteDecision
from graph.deps import GraphDeps, GraphEvents, TurnModel
from graph.model_errors import is_model_failure
from graph.offline.router import route_offline
from graph.phrases import dont_know, fallback_phrase
from graph.prompt_quoting import quote_turn
from graph.prompts import context_block, router_system
from graph.state import State, turn_start, turn_user_text
from graph.turn_log import Correction, RouteNote, Router, elapsed_ms

log = logging.getLogger(__name__)

MIN_MODEL_SECONDS = 0.05
"""A model call with less time than this left before the deadline is not made: it could not
answer, and the turn is the deadline's (not a model failure)."""


async def route(state: State, runtime: Runtime[TurnContext], *, deps: GraphDeps) -> dict[str, Any]:
    """Decide delegate/respond and the agent for this turn, and note how (`route_note`)."""
    ctx = runtime.context or TurnContext()
    started = time.perf_counter()
    note = _Note(started)
    if ctx.expired():  # a turn run past its deadline (or re-run after its run was abandoned)
        deps.events.turn_timeout()
        return note.done(_unavailable(ctx), "deadline")
    allowed = deps.allowed(ctx.allowed_agents)
    names = tuple(spec.name for spec in allowed)
    note.allowed = list(names)
    if ctx.direct:  # the gateway's behaviour: the bot's agent answers every turn
        if names:
            direct = RouteDecision(action="delegate", agent=names[0])
            return note.done(direct.handoff(), "direct", requested=names[0])
        return note.done(_unavailable(ctx), "direct")
    text, cut = turn_user_text(state.get("messages", []), deps.max_turn_text_chars)
    if cut:
        deps.events.turn_text_cut()
    context_started = time.perf_counter()
    business = await _business_context(deps, ctx)
    note.context_ms = elapsed_ms(context_started)
    if ctx.remaining(1.0) < MIN_MODEL_SECONDS:  # the context service took the whole turn
        deps.events.turn_timeout()
        return note.done(_unavailable(ctx), "deadline")
    active = state.get("active_agent")
    decision: RouteDecision | None = None
    router: Router = "offline"
    continued = False
    model = deps.turn_model(ctx)
    if model is not None:
        decision = await _try_model(state, text, ctx, deps, model, allowed, business)
        if decision is None and ctx.expired():
            deps.events.turn_timeout()
            return note.done(_unavailable(ctx), "deadline")
        router = "model" if decision is not None else "offline"
        if decision is not None:
            kept = keep_continuity(decision, active, names, deps.events)
            continued, decision = kept is not decision, kept
    if decision is None:
        decision = route_offline(
            text,
            active_agent=active,
            enabled_agents=allowed,
            config=ctx.bot_config,
            business_context=business,
        )
    final = enforce_allowed(decision, names, ctx, deps.events)
    requested = decision.agent if decision.action == "delegate" else None
    correction = correction_of(decision, final) or ("continuity" if continued else None)
    return note.done(final.handoff(), router, requested=requested, correction=correction)


def correction_of(decision: RouteDecision, final: RouteDecision) -> Correction | None:
    """How `enforce_allowed` changed a delegation: to the modalidad's agent, or to an answer."""
    if decision.action != "delegate" or decision.agent == final.agent:
        return None
    return "modalidad" if final.action == "delegate" else "not_allowed"


class _Note:
    """The router's note of this turn, filled as it goes."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.allowed: list[str] = []
        self.context_ms = 0.0

    def done(
        self,
        decision: Decision,
        router: Router,
        *,
        requested: str | None = None,
        correction: Correction | None = None,
    ) -> dict[str, Any]:
        note: RouteNote = {
            "router": router,
            "allowed": self.allowed,
            "requested": requested,
            "correction": correction,
            "routing_ms": elapsed_ms(self.started),
            "context_ms": self.context_ms,
        }
        return {"decision": decision, "route_note": note}


async def _business_context(deps: GraphDeps, ctx: TurnContext) -> str | None:
    """The company's business context; None when there is none or the turn's deadline came first."""
    if deps.contexts is None or ctx.id_empresa is None:
        return None
    try:
        async with asyncio.timeout(ctx.remaining(3600.0)):  # its own timeout bounds it too
            return await deps.contexts.get(ctx.id_empresa)
    except TimeoutError:
        log.warning("business context cut by the turn's deadline")
        return None


async def _try_model(
    state: State,
    text: str,
    ctx: TurnContext,
    deps: GraphDeps,
    model: TurnModel,
    allowed: list[AgentSpec],
    business: str | None,
) -> RouteDecision | None:
    """The model's decision; None (and the reason counted) when the model failed."""
    try:
        return await _route_with_model(state, text, ctx, deps, model, allowed, business)
    except Exception as exc:
        if is_model_failure(exc):  # an outage or an unreadable answer: no traceback
            log.warning(
                "model router failed; using the offline router",
                extra={"error": type(exc).__name__},
            )
            deps.events.llm_fallback(type(exc).__name__)
        else:  # a bug must not cost the user a reply: logged, counted
            log.error("router error; using the offline router", exc_info=exc)
            deps.events.internal_error("router")
    return None


def _quoted_turn(messages: list[AnyMessage], max_chars: int) -> str:
    """This turn's messages for the prompt, one quoted line each (a burst: several), bounded
    like the turn's text: the oldest lines kept whole."""
    lines = [quote_turn(m.text) for m in messages[turn_start(messages) :]]
    joined = "\n".join(lines)
    return joined if len(lines) <= 1 else joined[:max_chars].rstrip()


async def _route_with_model(
    state: State,
    text: str,
    ctx: TurnContext,
    deps: GraphDeps,
    model: TurnModel,
    allowed: list[AgentSpec],
    business: str | None,
) -> RouteDecision:
    messages = state.get("messages", [])
    history = messages[: turn_start(messages)]
    prompt: list[AnyMessage] = [
        SystemMessage(router_system(ctx.bot_config, allowed, state.get("active_agent"))),
        HumanMessage(context_block(business, history)),
        HumanMessage(_quoted_turn(messages, deps.max_turn_text_chars)),
    ]
    runnable = model.router(tuple(spec.name for spec in allowed))
    async with asyncio.timeout(ctx.remaining(deps.model_timeout)):
        result = await runnable.ainvoke(prompt)
    if not isinstance(result, RouteDecision):
        result = RouteDecision.model_validate(result)
    return result


ORCHESTRATOR_INTENTS = frozenset({"greeting", "farewell", "thanks", "escalation", "business"})
"""The intents the orchestrator answers itself even while an agent owns the conversation."""


def keep_continuity(
    decision: RouteDecision, active: str | None, allowed: tuple[str, ...], events: GraphEvents
) -> RouteDecision:
    """The model answered a turn of an agent's conversation itself for no reason of its own
    (not a greeting, farewell, thanks, escalation or business question): the agent takes it."""
    if (
        active is None
        or active not in allowed
        or decision.action != "respond"
        or decision.intent in ORCHESTRATOR_INTENTS
    ):
        return decision
    events.continuity_correction(active)
    log.info(
        "model answered an agent's conversation itself; kept with the agent",
        extra={"agent": active, "intent": decision.intent},
    )
    return RouteDecision(action="delegate", agent=active, intent="delegate")


def enforce_allowed(
    decision: RouteDecision, allowed: tuple[str, ...], ctx: TurnContext, events: GraphEvents
) -> RouteDecision:
    """Keep the decision inside the allowed set, whatever the model or the user said."""
    config = ctx.bot_config
    if decision.action == "delegate":
        if decision.agent in allowed:
            return decision.model_copy(update={"reply": None})
        if ctx.modalidad is not None and len(allowed) == 1:
            events.routing_correction(ctx.modalidad, str(decision.agent))
            log.info(
                "router picked another agent than the bot's; corrected",
                extra={"agent_requested": decision.agent, "agent": allowed[0]},
            )
            return RouteDecision(action="delegate", agent=allowed[0], intent="delegate")
        log.info(
            "router picked an agent that is not enabled; answering instead",
            extra={"agent_requested": decision.agent},
        )
        return RouteDecision(
            action="respond", agent=None, intent="clarify", reply=dont_know(config)
        )
    reply = (decision.reply or "").strip() or dont_know(config)
    return decision.model_copy(update={"agent": None, "reply": reply})


def _unavailable(ctx: TurnContext) -> Decision:
    """A respond decision with the fallback phrase (no agent can take the turn)."""
    return RouteDecision(action="respond", reply=fallback_phrase(ctx.bot_config)).handoff()
