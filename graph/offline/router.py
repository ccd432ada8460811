"""Deterministic offline router: keyword/stem rules decide who answers a turn (no model, no I/O)."""

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from graph.agents.roster import AgentSpec
from graph.bot_config import BotConfig
from graph.decision import Intent, RouteDecision
from graph.offline.business import (
    answer_by_overlap,
    answer_from_context,
    is_sales_only,
    looks_like_question,
    question_topics,
)
from graph.offline.lexicon import (
    ADVISOR_NOUN,
    AFFIRM,
    CLOSING,
    FAREWELL,
    FILLER,
    GREETING,
    INJECTION,
    OPENING_HOURS,
    SCHEDULING,
    SPEAK_TO_HUMAN,
    STOPWORDS,
    THANKS,
)
from graph.offline.terms import description_score, mentions_escalation_topic, message_scores
from graph.offline.text import normalize_tokens
from graph.phrases import dont_know, escalation, farewell, greeting

MAX_CHARS = 1000  # a routing decision reads at most this much of a message
STRONG = 3  # a score that names an agent outright (a booking verb, "cita", a price question)
WEAK = 2  # enough to delegate when nothing else claims the message
VOCABULARY = ("reserva", "cita", "venta")  # the lexicon's agent classes (graph/offline/lexicon)

_SMALL_TALK = (GREETING, FAREWELL, THANKS, CLOSING, AFFIRM, FILLER)
_PRICE_WORDS = frozenset(
    "cuanto cuesta cuestan precio precios seria sale salen costo costaria esta estan total vale "
    "valen tarifa todo".split()
)


class SmallTalk(NamedTuple):
    """Courtesy found in a message and the content words left once it is removed."""

    greeting: bool
    farewell: bool
    thanks: bool
    rest: tuple[str, ...]


@lru_cache(maxsize=64)
def _name_tokens(name: str) -> frozenset[str]:
    return frozenset(normalize_tokens(name))


def _small_talk(text: str, config: BotConfig) -> SmallTalk:
    rest = text
    for pattern in _SMALL_TALK:
        rest = pattern.sub(" ", rest)
    name = config.nombre_bot
    names = _name_tokens(name) if name else frozenset()
    return SmallTalk(
        greeting=bool(GREETING.search(text)),
        farewell=bool(FAREWELL.search(text) or CLOSING.search(text)),
        thanks=bool(THANKS.search(text)),
        rest=tuple(t for t in rest.split() if t not in names),
    )


def _respond(reply: str, intent: Intent) -> RouteDecision:
    return RouteDecision(action="respond", agent=None, reply=reply, intent=intent)


def _delegate(agent: str) -> RouteDecision:
    return RouteDecision.model_validate(
        {"action": "delegate", "agent": agent, "intent": "delegate"}
    )


def _clarify(
    agents: Sequence[AgentSpec], among: Sequence[str] = (), *, hand_over: bool = True
) -> RouteDecision:
    if hand_over and len(agents) == 1:  # a one-agent bot sends it what it does not answer itself
        return _delegate(agents[0].name)
    by_name = {spec.name: spec for spec in agents}
    options = [by_name[a].offer for a in among] if among else [s.offer for s in agents]
    if len(among) > 1:
        return _respond(f"¿Quieres {' o '.join(options)}?", "clarify")
    if not options:
        return _respond("¿Me cuentas un poco más sobre lo que necesitas?", "clarify")
    offer = options[0] if len(options) == 1 else ", ".join(options[:-1]) + " o " + options[-1]
    return _respond(f"¿En qué te puedo ayudar? Puedo ayudarte a {offer}.", "clarify")


def _is_escalation(
    text: str, tokens: Sequence[str], scores: Mapping[str, int], config: BotConfig
) -> bool:
    if scores["esc"] or mentions_escalation_topic(tokens, config.temas_esc):
        return True
    match = SPEAK_TO_HUMAN.search(text)
    if match is None:
        return False
    advisor_only = ADVISOR_NOUN.fullmatch(match.group(2) or "") is not None
    return not (advisor_only and SCHEDULING.search(text))


def _choose(
    scores: Mapping[str, int],
    agents: Sequence[AgentSpec],
    config: BotConfig,
    message: str,
    context: str | None,
) -> RouteDecision:
    """Delegate to the top-scoring agent; never to one the turn may not use."""
    top = max(scores.values(), default=0)
    allowed = _most_specific([s.name for s in agents if scores[s.name] == top and top > 0], agents)
    if len(allowed) == 1:
        return _delegate(allowed[0])
    if allowed:
        return _clarify(agents, allowed)
    answer = answer_by_overlap(message, context)  # "¿tienen menú vegetariano?" without sales
    if answer:
        return _respond(answer, "business")
    if len(agents) == 1:
        return _delegate(agents[0].name)
    return _respond(dont_know(config), "clarify")


def _most_specific(names: Sequence[str], agents: Sequence[AgentSpec]) -> list[str]:
    """Of agents tied on a message, the most dedicated: `cita` before `citas_ventas` for a cita."""
    width = {spec.name: len(spec.vocabulary) or 1 for spec in agents}
    narrowest = min((width[name] for name in names), default=0)
    return [name for name in names if width[name] == narrowest]


def _agent_scores(
    classes: Mapping[str, int], agents: Sequence[AgentSpec], tokens: Sequence[str]
) -> dict[str, int]:
    """Each agent's score: its vocabulary classes' best, else the words of its description."""
    return {
        spec.name: max(classes[c] for c in spec.vocabulary)
        if spec.vocabulary
        else description_score(tokens, spec.summary)
        for spec in agents
    }


def _unserved(classes: Mapping[str, int], agents: Sequence[AgentSpec]) -> int:
    """The strongest vocabulary score that no agent of this turn takes."""
    served = {c for spec in agents for c in spec.vocabulary}
    return max((classes[c] for c in VOCABULARY if c not in served), default=0)


def _not_offered(message: str, context: str | None, config: BotConfig) -> RouteDecision:
    """The message asks for what no agent of this bot does: answer from context, or say so."""
    answer = answer_by_overlap(message, context)
    if answer:
        return _respond(answer, "business")
    return _respond(dont_know(config), "clarify")


def _sales_agent(agents: Sequence[AgentSpec]) -> str | None:
    """The agent that takes sales questions (the first with the sales vocabulary)."""
    return next((spec.name for spec in agents if "venta" in spec.vocabulary), None)


def _business(
    topics: frozenset[str], message: str, context: str | None, config: BotConfig
) -> RouteDecision:
    answer = answer_from_context(topics, message, context)
    return _respond(answer or dont_know(config), "business")


def route_offline(
    message: str,
    *,
    active_agent: str | None,
    enabled_agents: Sequence[AgentSpec],
    config: BotConfig | None = None,
    business_context: str | None = None,
) -> RouteDecision:
    """Decide who answers `message` from keyword rules alone (pure and deterministic)."""
    cfg = config or BotConfig()
    enabled = list(enabled_agents)
    active = active_agent if active_agent in {s.name for s in enabled} else None
    message = message[:MAX_CHARS]
    tokens = normalize_tokens(message)
    text = " ".join(tokens)
    classes = message_scores(tokens, text)
    scores = _agent_scores(classes, enabled, tokens)
    if _is_escalation(text, tokens, classes, cfg):
        return _respond(escalation(cfg), "escalation")
    if INJECTION.search(text):
        return _clarify(enabled, hand_over=False)
    talk = _small_talk(text, cfg)
    best = max(scores.values(), default=0)
    if talk.farewell and best < STRONG:
        return _respond(farewell(cfg), "farewell")
    if not talk.rest:
        if talk.thanks and not (active and re.search(r"\b(si|confirmo|claro)\b", text)):
            return _respond(farewell(cfg), "thanks")
        if talk.greeting:
            return _respond(greeting(cfg), "greeting")
        return _delegate(active) if active else _clarify(enabled)
    topics = question_topics(text)
    if active and topics == {"hours"} and not OPENING_HOURS.search(text):
        topics = frozenset()  # "otro horario" while booking asks for another slot
    if active:
        return _route_active(
            active, classes, tokens, topics, talk, message, business_context, cfg, enabled
        )
    if len(enabled) != 1 and _unserved(classes, enabled) > max(best, STRONG - 1):
        return _not_offered(message, business_context, cfg)  # "reservar" with reserva off
    if best >= STRONG or (best >= WEAK and not topics):
        return _choose(scores, enabled, cfg, message, business_context)
    if topics:
        sales = _sales_agent(enabled)
        if is_sales_only(topics) and sales:
            return _delegate(sales)
        return _business(topics, message, business_context, cfg)
    if talk.greeting and len(talk.rest) <= 3:
        return _respond(greeting(cfg), "greeting")
    if talk.thanks:
        return _respond(farewell(cfg), "thanks")
    answer = answer_by_overlap(message, business_context) if best == 0 else None
    return _respond(answer, "business") if answer else _clarify(enabled)


def _route_active(
    active: str,
    classes: Mapping[str, int],
    tokens: Sequence[str],
    topics: frozenset[str],
    talk: SmallTalk,
    message: str,
    context: str | None,
    config: BotConfig,
    enabled: Sequence[AgentSpec],
) -> RouteDecision:
    """An agent owns the conversation: keep it unless the user clearly moved on."""
    sales = _sales_agent(enabled)
    scores = _agent_scores(classes, enabled, tokens)
    if active != sales and classes["price"] and (scores[active] or _bare(talk.rest)):
        # "¿y cuánto cuesta (la cancha)?" asks the active agent about its own service
        scores = _agent_scores({**classes, "venta": classes["goods"]}, enabled, tokens)
    best = max(scores.values(), default=0)
    if _unserved(classes, enabled) > max(best, STRONG - 1) and len(enabled) != 1:
        return _not_offered(message, context, config)
    if best >= STRONG and best > scores[active]:
        return _choose(scores, enabled, config, message, context)
    if topics and best < STRONG and looks_like_question(message):
        if "delivery" in topics and sales and active != sales:
            return _delegate(sales)
        if not is_sales_only(topics):
            return _business(topics, message, context, config)
        if active != sales:
            answer = answer_from_context(topics, message, context)
            return _respond(answer, "business") if answer else _delegate(active)
    return _delegate(active)


def _bare(rest: Sequence[str]) -> bool:
    """Nothing but price words left ("¿y cuánto sería en total?")."""
    return not [t for t in rest if t not in _PRICE_WORDS and t not in STOPWORDS]
