"""Why each turn went where it went: the record stored with the turn (the operator console's view).

The router notes how it decided (`RouteNote`, a hand-off cleared by the responder); the agent node
times its call; the responder joins them with the decision and the agent's result into one
`TurnRecord` per turn, stored in the conversation's bounded `turn_log` (trimmed like the history).
A record holds no message text, no client config and no key: only the routing facts, the
outcome, timings, token counts and the company (not the request id either: it is the agents'
idempotency key; the console shows it from the live answer's X-Request-ID).
"""

import time
from datetime import UTC, datetime
from typing import Literal, NotRequired, TypedDict

from graph.decision import Decision, Intent

Router = Literal["model", "offline", "direct", "deadline"]
"""Who decided: the model router, the offline router, ROUTING_MODE=direct, or nobody (the turn's
deadline had passed: the fallback phrase)."""
Correction = Literal["modalidad", "continuity", "not_allowed"]
"""Why a decision was changed: the bot's modalidad allows another agent (redirected to it), the
conversation's active agent kept it (continuity), or the agent is not allowed (answered instead)."""
Outcome = Literal["delegated", "failed", "timed_out"]
"""What became of the agent call: it answered, it failed (see `error`), or it ran out of time
(the turn's deadline cut it, `error` "deadline", or the agent's own timeout, `error` "timeout")."""
TIMEOUTS = frozenset({"deadline", "timeout"})


class RouteNote(TypedDict):
    """How the router reached this turn's decision (a hand-off to the responder)."""

    router: Router
    allowed: list[str]
    """The agents this turn could be given to."""
    requested: str | None
    """The agent the router asked for before any correction (None: it did not delegate)."""
    correction: Correction | None
    routing_ms: float
    """The router node's whole time, the business context included."""
    context_ms: float
    """Of which: fetching the business context."""


class AgentCallRecord(TypedDict):
    """The turn's agent call."""

    agent: str
    outcome: Outcome
    error: str | None
    """The failure's kind ("unreachable", "http_500", "circuit_open", "deadline", …)."""
    ms: float | None


class Tokens(TypedDict):
    """Model tokens the turn spent up to its reply (the router's and tool loops' model calls)."""

    input: int
    output: int
    model_calls: int


class TurnRecord(TypedDict):
    """One turn as the console shows it."""

    turn: int
    """The conversation's turn number (1 for its first turn)."""
    at: str
    """When the turn was answered (ISO-8601, UTC)."""
    message_id: str | None
    """The id of this turn's reply in the stored messages."""
    id_empresa: int | None
    router: Router
    action: Literal["delegate", "respond"]
    """The router's decision (after corrections)."""
    intent: Intent
    requested: str | None
    allowed: list[str]
    correction: Correction | None
    agent_call: AgentCallRecord | None
    reply_by: str
    """Who wrote the reply: the agent, or the orchestrator (its own answer or the fallback)."""
    fallback: bool
    """The reply is the fallback phrase because the agent call failed."""
    merged: int
    """How many customer messages this turn answered at once (1 unless they were merged)."""
    timings_ms: dict[str, float]
    """routing, context and agent (the agent only when one was called)."""
    tokens: NotRequired[Tokens]


NO_NOTE: RouteNote = {
    "router": "offline",
    "allowed": [],
    "requested": None,
    "correction": None,
    "routing_ms": 0.0,
    "context_ms": 0.0,
}
"""What the responder reads when no router ran (a caller that wrote the state itself)."""


def elapsed_ms(started: float) -> float:
    """Milliseconds since `started` (a `time.perf_counter()` value), to 0.1 ms."""
    return round((time.perf_counter() - started) * 1000, 1)


def agent_call_record(agent: str, ok: bool, error: str | None, ms: float | None) -> AgentCallRecord:
    """The agent call's record from its result."""
    outcome: Outcome = "delegated" if ok else "timed_out" if error in TIMEOUTS else "failed"
    return {"agent": agent, "outcome": outcome, "error": None if ok else error, "ms": ms}


def turn_record(
    *,
    turn: int,
    message_id: str | None,
    id_empresa: int | None,
    decision: Decision,
    note: RouteNote,
    agent_call: AgentCallRecord | None,
    reply_by: str,
    merged: int,
    tokens: Tokens | None,
) -> TurnRecord:
    """One turn's record (the responder's)."""
    timings = {"routing": note["routing_ms"], "context": note["context_ms"]}
    if agent_call is not None and agent_call["ms"] is not None:
        timings["agent"] = agent_call["ms"]
    record: TurnRecord = {
        "turn": turn,
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "message_id": message_id,
        "id_empresa": id_empresa,
        "router": note["router"],
        "action": decision["action"],
        "intent": decision["intent"],
        "requested": note["requested"],
        "allowed": list(note["allowed"]),
        "correction": note["correction"],
        "agent_call": agent_call,
        "reply_by": reply_by,
        "fallback": agent_call is not None and agent_call["outcome"] != "delegated",
        "merged": merged,
        "timings_ms": timings,
    }
    if tokens is not None:
        record["tokens"] = tokens
    return record


def bounded(log: list[TurnRecord], record: TurnRecord, max_turns: int) -> list[TurnRecord]:
    """The log with `record` added, keeping the last `max_turns` (as the history is kept)."""
    return [*log, record][-max_turns:] if max_turns > 0 else [record]
