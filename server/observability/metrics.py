"""Service metrics: the spec's JSON `/metrics` and a Prometheus registry, one object per app."""

import os
import re
import statistics
from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

_BREAKER_VALUE = {"closed": 0, "half_open": 1, "open": 2}
OTHER = "other"
"""The label of any value outside a label's known set (model, client or agent text)."""
_ACTIONS = frozenset({"delegate", "respond", "human"})
_REASON = re.compile(r"[A-Za-z_][A-Za-z0-9_:]{0,47}")
"""A failure reason is a short code word (ours, an exception's class name or `http_<status>`)."""


class Metrics:
    """Counts requests, latencies, agent calls and LLM fallbacks (created in the lifespan)."""

    def __init__(
        self,
        window: int = 2000,
        agent_names: tuple[str, ...] = (),
        modalidad_keys: frozenset[str] = frozenset(),
    ) -> None:
        self.requests_total = 0
        self.requests_errors = 0
        self.by_action: Counter[str] = Counter()
        self.llm_fallbacks = 0
        self.internal_errors: Counter[str] = Counter()
        self.routing_corrections = 0
        self.continuity_corrections = 0
        self.modalidad_unrecognized_total = 0
        self.turn_timeouts = 0
        self.rate_limited = 0
        self.replies_truncated = 0
        self.urls_dropped = 0
        self.agent_failures: Counter[str] = Counter()
        self.agent_calls: Counter[str] = Counter()
        self.agent_names = agent_names
        """Every roster agent (their keys appear in /metrics from start-up)."""
        self.modalidad_keys = modalidad_keys
        """The MODALIDAD_AGENTS keys (normalized): the only modalidad labels."""
        self._latencies: deque[float] = deque(maxlen=window)
        self.breakers: Callable[[], dict[str, dict[str, object]]] = dict
        self.registry = CollectorRegistry()
        self._p_requests = PromCounter(
            "orquestador_requests",
            "Chat turns by action, agent and HTTP status",
            ["action", "agent", "status"],
            registry=self.registry,
        )
        self._p_latency = Histogram(
            "orquestador_request_latency_seconds",
            "Chat turn latency",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self._p_agent = Histogram(
            "orquestador_agent_call_seconds",
            "Agent call latency by agent and outcome",
            ["agent", "outcome"],
            registry=self.registry,
        )
        self._p_agent_calls = PromCounter(
            "orquestador_agent_calls",
            "Agent calls by agent",
            ["agent"],
            registry=self.registry,
        )
        self._p_agent_fail = PromCounter(
            "orquestador_agent_failures",
            "Failed agent calls by agent and reason",
            ["agent", "reason"],
            registry=self.registry,
        )
        self._p_fallbacks = PromCounter(
            "orquestador_llm_fallbacks",
            "Turns routed offline because the model failed",
            registry=self.registry,
        )
        self._p_rate = PromCounter(
            "orquestador_rate_limited",
            "Requests refused by a rate limit",
            ["scope"],
            registry=self.registry,
        )
        self._p_internal = PromCounter(
            "orquestador_internal_errors",
            "Unexpected exceptions answered with a fallback, by where",
            ["where"],
            registry=self.registry,
        )
        self._p_corrections = PromCounter(
            "orquestador_routing_corrections",
            "Model choices of another agent than the modalidad's, corrected",
            ["modalidad", "chosen"],
            registry=self.registry,
        )
        self._p_continuity = PromCounter(
            "orquestador_continuity_corrections",
            "Turns the model answered itself while an agent owned the conversation, sent to it",
            ["agent"],
            registry=self.registry,
        )
        self._p_timeouts = PromCounter(
            "orquestador_turn_timeouts",
            "Turns answered with the fallback because TURN_TIMEOUT passed",
            registry=self.registry,
        )
        self._p_modalidad = PromCounter(
            "orquestador_modalidad_unrecognized",
            "Turns whose modalidad was missing or not in MODALIDAD_AGENTS",
            registry=self.registry,
        )
        self._p_truncated = PromCounter(
            "orquestador_replies_truncated",
            "Replies cut to MAX_REPLY_CHARS",
            registry=self.registry,
        )
        self._p_urls_dropped = PromCounter(
            "orquestador_agent_urls_dropped",
            "Agent urls answered as null: not http(s) or longer than MAX_URL_CHARS",
            ["problem"],
            registry=self.registry,
        )
        self.bursts = BurstMetrics(self.registry)
        """Merged bursts and rejections of DOUBLE_TEXTING (merge, reject)."""
        self._p_breaker = Gauge(
            "orquestador_circuit_breaker_state",
            "Breaker state (0 closed, 1 half_open, 2 open)",
            ["agent"],
            registry=self.registry,
        )
        self._init_webhooks()
        self._init_handoff()

    def turn(self, *, action: str | None, agent: str | None, status: int, seconds: float) -> None:
        """Record one chat request."""
        self.requests_total += 1
        if status >= 400 or action is None:
            self.requests_errors += 1
        else:
            self.by_action[action] += 1
        self._latencies.append(seconds * 1000)
        action_label = OTHER if action is not None and action not in _ACTIONS else action
        self._p_requests.labels(
            action_label or "none", self._agent_label(agent) if agent else "none", str(status)
        ).inc()
        self._p_latency.observe(seconds)

    def agent_call(self, agent: str, ok: bool, seconds: float, reason: str | None) -> None:
        """Record one agent call (AgentObserver)."""
        self.agent_calls[agent] += 1
        label = self._agent_label(agent)
        self._p_agent_calls.labels(label).inc()
        self._p_agent.labels(label, "ok" if ok else "error").observe(seconds)
        if not ok:
            self.agent_failures[agent] += 1
            reason = reason or "error"
            self._p_agent_fail.labels(label, reason if _REASON.fullmatch(reason) else OTHER).inc()

    def llm_fallback(self, reason: str) -> None:
        """Record a turn routed offline because the model failed (GraphEvents)."""
        self.llm_fallbacks += 1
        self._p_fallbacks.inc()

    def internal_error(self, where: str) -> None:
        """Record an unexpected exception that a turn survived with a fallback (GraphEvents)."""
        self.internal_errors[where] += 1
        self._p_internal.labels(where).inc()

    def routing_correction(self, modalidad: str, chosen: str) -> None:
        """Record a model choice of another agent than the bot's modalidad's (GraphEvents)."""
        self.routing_corrections += 1
        modalidad_label = modalidad if modalidad in self.modalidad_keys else OTHER
        self._p_corrections.labels(modalidad_label, self._agent_label(chosen)).inc()

    def continuity_correction(self, agent: str) -> None:
        """Record a model's respond turned into the active agent's turn (GraphEvents)."""
        self.continuity_corrections += 1
        self._p_continuity.labels(agent).inc()

    def turn_timeout(self) -> None:
        """Record a turn answered with the fallback because its deadline passed (GraphEvents)."""
        self.turn_timeouts += 1
        self._p_timeouts.inc()

    def modalidad_unrecognized(self) -> None:
        """Record a turn whose modalidad was missing or not in MODALIDAD_AGENTS."""
        self.modalidad_unrecognized_total += 1
        self._p_modalidad.inc()

    def reply_truncated(self) -> None:
        """Record a reply cut to MAX_REPLY_CHARS (GraphEvents)."""
        self.replies_truncated += 1
        self._p_truncated.inc()

    def url_dropped(self, problem: str) -> None:
        """Record an agent url answered as null (GraphEvents): `too_long` or `not_http`."""
        self.urls_dropped += 1
        self._p_urls_dropped.labels(problem).inc()

    def turn_text_cut(self) -> None:
        """Record a merged burst's text cut to its bound (GraphEvents)."""
        self.bursts.text_cut()

    def limited(self, scope: str) -> None:
        """Record a request refused by a rate limit."""
        self.rate_limited += 1
        self._p_rate.labels(scope).inc()

    def watch_breakers(self, source: Callable[[], dict[str, dict[str, object]]]) -> None:
        """Read the agents' circuit breakers from `source` (the registry, built after this)."""
        self.breakers = source

    # -- reply webhooks (issue 24) ----------------------------------------------------------------
    def _init_webhooks(self) -> None:
        self.async_turns_accepted = 0
        self.webhook_deliveries: Counter[str] = Counter()
        self.webhook_attempts: Counter[str] = Counter()
        self.webhook_backlog_size = 0
        self.webhook_oldest_age = 0.0
        self.webhook_failed_kept = 0
        self._p_async = PromCounter(
            "orquestador_async_turns",
            "Asynchronous turns accepted (Prefer: respond-async, answered 202)",
            registry=self.registry,
        )
        self._p_deliveries = PromCounter(
            "orquestador_webhook_deliveries",
            "Webhook deliveries by final result (delivered, failed)",
            ["result"],
            registry=self.registry,
        )
        self._p_attempts = PromCounter(
            "orquestador_webhook_attempts",
            "Webhook POST attempts by outcome (ok, http_4xx, http_429, http_5xx, http_other, "
            "timeout, connection)",
            ["outcome"],
            registry=self.registry,
        )
        self._p_backlog = Gauge(
            "orquestador_webhook_backlog",
            "Outbox rows not delivered yet (turns running or replies waiting), all instances",
            registry=self.registry,
        )
        self._p_oldest = Gauge(
            "orquestador_webhook_oldest_age_seconds",
            "Age of the oldest outbox row not delivered yet (0 when none)",
            registry=self.registry,
        )
        self._p_failed = Gauge(
            "orquestador_webhook_failed",
            "Deliveries that gave up and are kept in GET /webhooks/failed",
            registry=self.registry,
        )

    def async_turn_accepted(self) -> None:
        """Record an asynchronous turn answered 202."""
        self.async_turns_accepted += 1
        self._p_async.inc()

    def webhook_delivery(self, result: str) -> None:
        """Record a delivery's final result: `delivered` or `failed`."""
        self.webhook_deliveries[result] += 1
        self._p_deliveries.labels(result).inc()

    def webhook_attempt(self, outcome: str) -> None:
        """Record one POST attempt to a reply webhook."""
        self.webhook_attempts[outcome] += 1
        self._p_attempts.labels(outcome).inc()

    def webhook_backlog(self, backlog: Any) -> None:
        """Set the backlog gauges (an outbox Backlog: size, oldest_age, failed)."""
        self.webhook_backlog_size = backlog.size
        self.webhook_oldest_age = round(backlog.oldest_age, 3)
        self.webhook_failed_kept = backlog.failed
        self._p_backlog.set(backlog.size)
        self._p_oldest.set(backlog.oldest_age)
        self._p_failed.set(backlog.failed)

    def _webhooks_raw(self) -> dict[str, Any]:
        return {
            "async_turns_accepted": self.async_turns_accepted,
            "deliveries": dict(self.webhook_deliveries),
            "attempts": dict(self.webhook_attempts),
            "backlog": self.webhook_backlog_size,
            "oldest_age_seconds": self.webhook_oldest_age,
            "failed": self.webhook_failed_kept,
        }

    # -- human handoff (issue 25) -----------------------------------------------------------------
    def _init_handoff(self) -> None:
        self.handoffs_started: Counter[str] = Counter()
        self.handoffs_ended: Counter[str] = Counter()
        self.conversations_human = 0
        self._p_handoffs = PromCounter(
            "orquestador_handoffs",
            "Conversations handed to a person, by reason (escalation, operator)",
            ["reason"],
            registry=self.registry,
        )
        self._p_handoffs_ended = PromCounter(
            "orquestador_handoffs_ended",
            "Conversations given back to the bot, by reason (resume, timeout)",
            ["reason"],
            registry=self.registry,
        )
        self._p_human = Gauge(
            "orquestador_conversations_human",
            "Conversations waiting for or held by a person (human mode), all instances",
            registry=self.registry,
        )
        self._p_human_seconds = Histogram(
            "orquestador_human_mode_seconds",
            "Time conversations spent in human mode",
            registry=self.registry,
            buckets=(60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400),
        )

    def handoff_started(self, reason: str) -> None:
        """Record a conversation handed to a person (`escalation` or `operator`)."""
        self.handoffs_started[reason] += 1
        self._p_handoffs.labels(reason).inc()

    def handoff_ended(self, reason: str, seconds: float) -> None:
        """Record a conversation given back (`resume` or `timeout`) after `seconds` held."""
        self.handoffs_ended[reason] += 1
        self._p_handoffs_ended.labels(reason).inc()
        self._p_human_seconds.observe(seconds)

    def humans(self, count: int) -> None:
        """Set the gauge of conversations in human mode (read from the shared table)."""
        self.conversations_human = count
        self._p_human.set(count)

    def _handoff_raw(self) -> dict[str, Any]:
        return {
            "started": dict(self.handoffs_started),
            "ended": dict(self.handoffs_ended),
            "conversations_human": self.conversations_human,
        }

    def snapshot(self) -> dict[str, object]:
        """The JSON of GET /metrics for this process alone."""
        return merge_raw([self.raw()])

    def raw(self) -> dict[str, Any]:
        """This process's figures as JSON-able values, to be summed with other workers'."""
        self.refresh_gauges()
        return {
            "worker": os.getpid(),
            "requests_total": self.requests_total,
            "requests_errors": self.requests_errors,
            "by_action": dict(self.by_action),
            "latencies_ms": list(self._latencies),
            "circuit_breakers": self.breakers(),
            "llm_fallbacks": self.llm_fallbacks,
            "agent_failures": self._per_agent(self.agent_failures),
            "agent_calls": self._per_agent(self.agent_calls),
            "rate_limited": self.rate_limited,
            "internal_errors": dict(self.internal_errors),
            "routing_corrections": self.routing_corrections,
            "continuity_corrections": self.continuity_corrections,
            "modalidad_unrecognized": self.modalidad_unrecognized_total,
            "turn_timeouts": self.turn_timeouts,
            "replies_truncated": self.replies_truncated,
            "urls_dropped": self.urls_dropped,
            "webhooks": self._webhooks_raw(),
            "bursts": self.bursts.raw(),
            "handoff": self._handoff_raw(),
            "prometheus": generate_latest(self.registry).decode(),
        }

    def _agent_label(self, name: str) -> str:
        """A roster agent's name, else `other` (model or client text never becomes a label)."""
        return name if name in self.agent_names else OTHER

    def _per_agent(self, counts: Counter[str]) -> dict[str, int]:
        return {**{name: 0 for name in self.agent_names}, **counts}

    def refresh_gauges(self) -> None:
        """Copy the breakers' states into the Prometheus gauge before an exposition."""
        for agent, snap in self.breakers().items():
            self._p_breaker.labels(agent).set(_BREAKER_VALUE.get(str(snap["state"]), 0))


def merge_raw(raws: list[dict[str, Any]]) -> dict[str, object]:
    """The JSON of GET /metrics from the raw figures of every worker (the contract's keys first).

    Latency percentiles are over the workers' recent windows together; `circuit_breakers` shows
    each agent's worst state and highest failure count, `circuit_breakers_by_worker` each one's.
    """
    values = sorted(v for raw in raws for v in raw["latencies_ms"])
    actions: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    internal: Counter[str] = Counter()
    for raw in raws:
        actions.update(raw["by_action"])
        failures.update(raw["agent_failures"])
        calls.update(raw["agent_calls"])
        internal.update(raw["internal_errors"])
    return {
        "requests_total": sum(raw["requests_total"] for raw in raws),
        "requests_errors": sum(raw["requests_errors"] for raw in raws),
        "requests_delegate": actions["delegate"],
        "requests_respond": actions["respond"],
        "latency_avg_ms": round(statistics.fmean(values), 2) if values else 0.0,
        "latency_p50_ms": _percentile(values, 50),
        "latency_p95_ms": _percentile(values, 95),
        "latency_p99_ms": _percentile(values, 99),
        "circuit_breakers": _worst_breakers([raw["circuit_breakers"] for raw in raws]),
        "llm_fallbacks": sum(raw["llm_fallbacks"] for raw in raws),
        "agent_failures": _with_zeros(failures, raws, "agent_failures"),
        "agent_calls": _with_zeros(calls, raws, "agent_calls"),
        "rate_limited": sum(raw["rate_limited"] for raw in raws),
        "internal_errors": dict(internal),
        **{key: sum(raw[key] for raw in raws) for key in SUMMED},
        "bursts": merge_bursts([raw.get("bursts", {}) for raw in raws]),
        "workers": len(raws),
        "requests_by_worker": {str(raw["worker"]): raw["requests_total"] for raw in raws},
        "circuit_breakers_by_worker": {str(raw["worker"]): raw["circuit_breakers"] for raw in raws},
        "webhooks": _merge_webhooks([raw["webhooks"] for raw in raws if "webhooks" in raw]),
        "handoff": _merge_handoff([raw["handoff"] for raw in raws if "handoff" in raw]),
    }


def _merge_handoff(per_worker: list[dict[str, Any]]) -> dict[str, object]:
    """Handoff figures of every worker: counters summed, the human-mode gauge (read from the
    shared table) at its largest value."""
    started: Counter[str] = Counter({"escalation": 0, "operator": 0})
    ended: Counter[str] = Counter({"resume": 0, "timeout": 0})
    for raw in per_worker:
        started.update(raw["started"])
        ended.update(raw["ended"])
    return {
        "started": dict(started),
        "ended": dict(ended),
        "conversations_human": max((raw["conversations_human"] for raw in per_worker), default=0),
    }


def _merge_webhooks(per_worker: list[dict[str, Any]]) -> dict[str, object]:
    """Webhook figures of every worker: counters summed; the backlog gauges (read from the
    shared database) at their latest, i.e. largest, value."""
    deliveries: Counter[str] = Counter({"delivered": 0, "failed": 0})
    attempts: Counter[str] = Counter()
    for raw in per_worker:
        deliveries.update(raw["deliveries"])
        attempts.update(raw["attempts"])
    return {
        "async_turns_accepted": sum(raw["async_turns_accepted"] for raw in per_worker),
        "deliveries": dict(deliveries),
        "attempts": dict(attempts),
        "backlog": max((raw["backlog"] for raw in per_worker), default=0),
        "oldest_age_seconds": max((raw["oldest_age_seconds"] for raw in per_worker), default=0.0),
        "failed": max((raw["failed"] for raw in per_worker), default=0),
    }


SUMMED = (
    "routing_corrections",
    "modalidad_unrecognized",
    "turn_timeouts",
    "replies_truncated",
    "urls_dropped",
    "continuity_corrections",
)


# --- Bursts (DOUBLE_TEXTING merge / reject) -------------------------------------------------


class BurstMetrics:
    """Merged messages, bursts and their sizes, cut burst texts and rejected messages."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.merged = 0
        self.bursts = 0
        self.burst_messages = 0
        self.text_cuts = 0
        self.rejected = 0
        self._p_merged = PromCounter(
            "orquestador_messages_merged",
            "Messages answered 'merged' (their text joined a later message's turn)",
            registry=registry,
        )
        self._p_bursts = PromCounter(
            "orquestador_bursts", "Turns that answered a burst (merge mode)", registry=registry
        )
        self._p_sizes = Histogram(
            "orquestador_burst_size_messages",
            "Customer messages per answered burst (merge mode)",
            registry=registry,
            buckets=(1, 2, 3, 4, 5, 7, 10, 15, 20, 30),
        )
        self._p_cuts = PromCounter(
            "orquestador_burst_text_cut",
            "Bursts whose joined text was cut to MERGE_MAX_CHARS",
            registry=registry,
        )
        self._p_rejected = PromCounter(
            "orquestador_messages_rejected",
            "Messages refused with 409 while their conversation's turn was in flight (reject)",
            registry=registry,
        )

    def message_merged(self) -> None:
        self.merged += 1
        self._p_merged.inc()

    def burst(self, size: int) -> None:
        self.bursts += 1
        self.burst_messages += size
        self._p_bursts.inc()
        self._p_sizes.observe(size)

    def text_cut(self) -> None:
        self.text_cuts += 1
        self._p_cuts.inc()

    def rejection(self) -> None:
        self.rejected += 1
        self._p_rejected.inc()

    def raw(self) -> dict[str, int]:
        return {
            "messages_merged": self.merged,
            "bursts": self.bursts,
            "burst_messages": self.burst_messages,
            "burst_text_cuts": self.text_cuts,
            "messages_rejected": self.rejected,
        }


def merge_bursts(raws: list[dict[str, int]]) -> dict[str, int]:
    """The workers' burst figures summed."""
    keys = ("messages_merged", "bursts", "burst_messages", "burst_text_cuts", "messages_rejected")
    return {key: sum(raw.get(key, 0) for raw in raws) for key in keys}


def _with_zeros(counts: Counter[str], raws: list[dict[str, Any]], key: str) -> dict[str, int]:
    """Summed per-agent counts, every roster agent included (at 0 when it was never called)."""
    names: dict[str, None] = {}
    for raw in raws:
        names.update(dict.fromkeys(raw[key]))
    return {name: counts[name] for name in names}


def _worst_breakers(per_worker: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, object]]:
    merged: dict[str, dict[str, object]] = {}
    for breakers in per_worker:
        for agent, snap in breakers.items():
            seen = merged.setdefault(agent, dict(snap))
            if _BREAKER_VALUE.get(snap["state"], 0) > _BREAKER_VALUE.get(str(seen["state"]), 0):
                seen["state"] = snap["state"]
            seen["failure_count"] = max(int(str(seen["failure_count"])), snap["failure_count"])
    return merged


class _Samples(Collector):
    """A collector yielding already merged metric families."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def merge_exposition(raws: list[dict[str, Any]]) -> bytes:
    """One Prometheus text for every worker: counters and histograms summed, gauges at their
    maximum (the worst breaker state), plus each gauge per worker as `<name>_by_worker`."""
    families: dict[str, Metric] = {}
    values: dict[tuple[str, str, tuple[tuple[str, str], ...]], float] = {}
    for raw in raws:
        for family in text_string_to_metric_families(raw["prometheus"]):
            families.setdefault(family.name, Metric(family.name, family.documentation, family.type))
            for sample in family.samples:
                key = (family.name, sample.name, tuple(sorted(sample.labels.items())))
                if key not in values:
                    values[key] = sample.value
                elif sample.name.endswith("_created"):
                    values[key] = min(values[key], sample.value)
                elif family.type == "gauge":
                    values[key] = max(values[key], sample.value)
                else:
                    values[key] += sample.value
                if family.type == "gauge":
                    name = f"{family.name}_by_worker"
                    families.setdefault(
                        name, Metric(name, f"{family.documentation} (per worker)", "gauge")
                    )
                    labels = (*key[2], ("worker", str(raw["worker"])))
                    values[(name, name, labels)] = sample.value
    for (family_name, name, labels), value in values.items():
        families[family_name].add_sample(name, dict(labels), value)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Samples(list(families.values())))
    return generate_latest(registry)


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values) + 0.5) - 1))
    return round(values[index], 2)


# --- Usage and cost (issue 26): tokens, cost and budgets; a bounded per-company label ---------

OTHER_COMPANY = "other"


class CompanyLabels:
    """The `id_empresa` label values: at most `limit` companies (the month's top ones by volume
    first, then the first to come), every other one as `other`."""

    def __init__(self, limit: int, top: list[int] | None = None) -> None:
        self._limit = limit
        self._named: set[int] = set((top or [])[:limit])

    def label(self, company: int | None) -> str:
        """The label of `company` (`none` for turns without one)."""
        if company is None:
            return "none"
        if company in self._named:
            return str(company)
        if len(self._named) < self._limit:
            self._named.add(company)
            return str(company)
        return OTHER_COMPANY


class UsageMetrics:
    """Prometheus counters of tokens and cost by direction, model and key (`company`: the
    company's own model key; `server`: OPENAI_API_KEY), agents' reported tokens, and turns held
    offline by a budget; `id_empresa` only when METRICS_COMPANY_LABEL is on."""

    def __init__(self, registry: CollectorRegistry, companies: CompanyLabels | None) -> None:
        self._companies = companies
        extra = ["id_empresa"] if companies is not None else []
        self._tokens = PromCounter(
            "orquestador_llm_tokens",
            "Model tokens by direction (input/output), model and key (company/server)",
            ["direction", "model", "key", *extra],
            registry=registry,
        )
        self._cost = PromCounter(
            "orquestador_llm_cost_usd",
            "Model cost in USD (MODEL_PRICES) by model and key",
            ["model", "key", *extra],
            registry=registry,
        )
        self._agent_tokens = PromCounter(
            "orquestador_agent_tokens",
            "Tokens agents reported in their answers' usage, by direction and agent",
            ["direction", "agent"],
            registry=registry,
        )
        self._budget = PromCounter(
            "orquestador_budget_exceeded",
            "Turns routed offline because the company spent its server-key budget",
            extra,
            registry=registry,
        )

    def _extra(self, company: int | None) -> list[str]:
        return [self._companies.label(company)] if self._companies is not None else []

    def tokens(
        self, model: str, key: str, company: int | None, tokens: tuple[int, int], cost: float
    ) -> None:
        """Count one model's tokens and cost of a turn."""
        extra = self._extra(company)
        self._tokens.labels("input", model, key, *extra).inc(tokens[0])
        self._tokens.labels("output", model, key, *extra).inc(tokens[1])
        self._cost.labels(model, key, *extra).inc(cost)

    def agent_tokens(self, agent: str, tokens: tuple[int, int]) -> None:
        """Count the tokens an agent reported."""
        self._agent_tokens.labels("input", agent).inc(tokens[0])
        self._agent_tokens.labels("output", agent).inc(tokens[1])

    def budget_exceeded(self, company: int | None) -> None:
        """Count a turn routed offline by its company's budget."""
        if self._companies is not None:
            self._budget.labels(*self._extra(company)).inc()
        else:
            self._budget.inc()
