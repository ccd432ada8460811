"""Service metrics: the spec's JSON `/metrics` and a Prometheus registry, one object per app."""

import os
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


class Metrics:
    """Counts requests, latencies, agent calls and LLM fallbacks (created in the lifespan)."""

    def __init__(self, window: int = 2000, agent_names: tuple[str, ...] = ()) -> None:
        self.requests_total = 0
        self.requests_errors = 0
        self.by_action: Counter[str] = Counter()
        self.llm_fallbacks = 0
        self.internal_errors: Counter[str] = Counter()
        self.routing_corrections = 0
        self.modalidad_unrecognized_total = 0
        self.turn_timeouts = 0
        self.rate_limited = 0
        self.replies_truncated = 0
        self.agent_failures: Counter[str] = Counter()
        self.agent_calls: Counter[str] = Counter()
        self.agent_names = agent_names
        """Every roster agent (their keys appear in /metrics from start-up)."""
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
        self.bursts = BurstMetrics(self.registry)
        """Merged bursts and rejections of DOUBLE_TEXTING (merge, reject)."""
        self._p_breaker = Gauge(
            "orquestador_circuit_breaker_state",
            "Breaker state (0 closed, 1 half_open, 2 open)",
            ["agent"],
            registry=self.registry,
        )

    def turn(self, *, action: str | None, agent: str | None, status: int, seconds: float) -> None:
        """Record one chat request."""
        self.requests_total += 1
        if status >= 400 or action is None:
            self.requests_errors += 1
        else:
            self.by_action[action] += 1
        self._latencies.append(seconds * 1000)
        self._p_requests.labels(action or "none", agent or "none", str(status)).inc()
        self._p_latency.observe(seconds)

    def agent_call(self, agent: str, ok: bool, seconds: float, reason: str | None) -> None:
        """Record one agent call (AgentObserver)."""
        self.agent_calls[agent] += 1
        self._p_agent_calls.labels(agent).inc()
        self._p_agent.labels(agent, "ok" if ok else "error").observe(seconds)
        if not ok:
            self.agent_failures[agent] += 1
            self._p_agent_fail.labels(agent, reason or "error").inc()

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
        self._p_corrections.labels(modalidad, chosen).inc()

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
            "modalidad_unrecognized": self.modalidad_unrecognized_total,
            "turn_timeouts": self.turn_timeouts,
            "replies_truncated": self.replies_truncated,
            "bursts": self.bursts.raw(),
            "prometheus": generate_latest(self.registry).decode(),
        }

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
    }


SUMMED = ("routing_corrections", "modalidad_unrecognized", "turn_timeouts", "replies_truncated")


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
