"""Items 1 and 2: the orchestrator's latency and throughput against the bare baseline, same run.

Zero-latency OpenAI stub and MCP agent; every turn delegates (one model call, one MCP `chat`
call). Each target (baseline, then orchestrator) gets: a warm-up, a sequential run (one turn
at a time: latency without queueing) and a loaded run (50 sessions in flight). The overhead of
a turn is the orchestrator's latency minus the baseline's (same stub calls, same machine, same
run); CPU time per turn is read from /proc for every process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from bench.common import (
    Figure,
    Service,
    bench_main,
    check,
    cpu_seconds,
    orchestrator_env,
    orchestrator_process,
    pick,
    say,
    scratch_dir,
    start_all,
    start_baseline,
    start_helpers,
    warm_chat,
)
from bench.load import LoadResult, run_load, run_paired
from bench.stats import fmt_summary
from bench.workload import DELEGATE_MESSAGE

NAME = "overhead"
CONCURRENCY = 50
TURNS_PER_SESSION = 10  # conversations of 10 turns: the history grows as in real sessions


@dataclass
class Measured:
    """One target's runs and the CPU each process spent during its loaded run."""

    sequential: LoadResult
    loaded: LoadResult
    cpu_ms_per_turn: dict[str, float]


def sizes(scale: str) -> dict[str, int]:
    """Turns per phase."""
    return pick(
        scale,
        {"warm": 30, "sequential": 50, "loaded": 250, "max_seconds": 40},
        {"warm": 100, "sequential": 200, "loaded": 1500, "max_seconds": 120},
        {"warm": 100, "sequential": 300, "loaded": 3000, "max_seconds": 240},
    )


def loaded_run(
    target: Service, helpers: dict[str, Service], label: str, size: dict[str, int]
) -> tuple[LoadResult, dict[str, float]]:
    """The loaded run of one target, with the CPU ms per turn of the target and its helpers."""
    say(f"{label}: loaded ({size['loaded']} turns, {CONCURRENCY} sessions in flight)")
    pids = {"server": target.pid, **{name: s.pid for name, s in helpers.items()}}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    loaded = run_load(
        target.url,
        label=f"{label}-load",
        concurrency=CONCURRENCY,
        sessions=max(CONCURRENCY, size["loaded"] // TURNS_PER_SESSION),
        repeat=TURNS_PER_SESSION,
        max_seconds=size["max_seconds"],
    )
    cpu = {
        name: (cpu_seconds(pid) - before[name]) * 1000 / max(1, loaded.turns)
        for name, pid in pids.items()
    }
    say("  " + loaded.describe())
    say("  CPU ms per turn: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    return loaded, cpu


def warn_if_failed(*results: LoadResult) -> None:
    for result in results:
        if result.errors or result.actions.get("delegate", 0) != result.turns:
            say(
                f"  WARNING {result.label}: errors {result.errors} ({result.first_error}), "
                f"actions {result.actions}"
            )


def measure(
    base: Service, orch: Service, helpers: dict[str, Service], size: dict[str, int]
) -> tuple[Measured, Measured]:
    """Warm both; sequential turns alternating baseline/orchestrator; then each loaded."""
    say(f"warm-up ({size['warm']} turns each)")
    run_paired(
        [base.url, orch.url],
        labels=["baseline-warm", "orchestrator-warm"],
        concurrency=10,
        sessions=10,
        repeat=max(1, size["warm"] // 10),
        progress=0,
    )
    say(
        f"sequential: {size['sequential']} turns, one at a time, each sent to the baseline "
        "then to the orchestrator"
    )
    seq_base, seq_orch = run_paired(
        [base.url, orch.url],
        labels=["baseline-seq", "orchestrator-seq"],
        concurrency=1,
        sessions=max(1, size["sequential"] // TURNS_PER_SESSION),
        repeat=TURNS_PER_SESSION,
        max_seconds=size["max_seconds"],
    )
    say("  " + seq_base.describe())
    say("  " + seq_orch.describe())
    load_base, cpu_base = loaded_run(base, helpers, "baseline", size)
    load_orch, cpu_orch = loaded_run(orch, helpers, "orchestrator", size)
    warn_if_failed(seq_base, seq_orch, load_base, load_orch)
    return Measured(seq_base, load_base, cpu_base), Measured(seq_orch, load_orch, cpu_orch)


def run(scale: str = "default") -> list[Figure]:
    size = sizes(scale)
    say(
        f"{NAME}: starting stub, agent, orchestrator and baseline (load avg "
        f"{os.getloadavg()[0]:.1f})"
    )
    stub, agent = start_helpers()
    services = [stub, agent]
    try:
        with scratch_dir("overhead") as tmp:
            orch = orchestrator_process(orchestrator_env(stub, agent, tmp))
            baseline = start_baseline(stub, agent, start=False)
            services += [orch, baseline]
            start_all(orch, baseline)
            for svc in (orch, baseline):
                reply = warm_chat(svc.url, "warm-0", DELEGATE_MESSAGE)
                assert reply["action"] == "delegate", reply
            base, mine = measure(baseline, orch, {"stub": stub, "agent": agent}, size)
    finally:
        for svc in reversed(services):
            svc.stop()
    return figures(base, mine)


def figures(base: Measured, mine: Measured) -> list[Figure]:
    bs, ms = base.sequential.summary(), mine.sequential.summary()
    bl, ml = base.loaded.summary(), mine.loaded.summary()
    say("sequential  baseline " + fmt_summary(bs) + " | orchestrator " + fmt_summary(ms))
    say(
        f"loaded x{CONCURRENCY}  baseline " + fmt_summary(bl) + " | orchestrator " + fmt_summary(ml)
    )
    over50, over99 = ms["p50"] - bs["p50"], ms["p99"] - bs["p99"]
    ratio = mine.loaded.throughput / base.loaded.throughput if base.loaded.throughput else None
    cpu_over = mine.cpu_ms_per_turn["server"] - base.cpu_ms_per_turn["server"]
    errors = (
        base.loaded.errors + mine.loaded.errors + base.sequential.errors + mine.sequential.errors
    )
    f = [
        Figure(NAME, f"orchestrator latency p50 at {CONCURRENCY} sessions", ml["p50"], "ms"),
        Figure(NAME, f"orchestrator latency p95 at {CONCURRENCY} sessions", ml["p95"], "ms"),
        Figure(NAME, f"orchestrator latency p99 at {CONCURRENCY} sessions", ml["p99"], "ms"),
        Figure(
            NAME,
            f"orchestrator throughput at {CONCURRENCY} sessions",
            mine.loaded.throughput,
            "turns/s",
            note=f"{mine.loaded.turns} turns",
        ),
        Figure(NAME, "orchestrator latency p50, one turn at a time", ms["p50"], "ms"),
        Figure(NAME, "baseline latency p50, one turn at a time", bs["p50"], "ms"),
        Figure(
            NAME,
            "overhead per turn p50 (orchestrator − baseline, one at a time)",
            over50,
            "ms",
            "≤ 4 ms",
            check(over50, 4),
        ),
        Figure(
            NAME,
            "overhead per turn p99 (orchestrator − baseline, one at a time)",
            over99,
            "ms",
            "≤ 15 ms",
            check(over99, 15),
        ),
        Figure(
            NAME,
            f"overhead p50 at {CONCURRENCY} sessions (queueing included)",
            ml["p50"] - bl["p50"],
            "ms",
        ),
        Figure(NAME, "orchestrator CPU per turn", mine.cpu_ms_per_turn["server"], "ms"),
        Figure(NAME, "baseline CPU per turn", base.cpu_ms_per_turn["server"], "ms"),
        Figure(NAME, "CPU overhead per turn (orchestrator − baseline)", cpu_over, "ms"),
        Figure(
            "baseline",
            f"baseline throughput at {CONCURRENCY} sessions",
            base.loaded.throughput,
            "turns/s",
            note=f"{base.loaded.turns} turns",
        ),
        Figure(
            "baseline",
            "orchestrator throughput / baseline throughput",
            ratio,
            "",
            "≥ 0.6",
            check(ratio, 0.6, at_most=False),
        ),
    ]
    if errors:
        f.append(Figure(NAME, "failed turns (should be 0)", errors, "", "0", errors == 0))
    return f


def main() -> None:
    bench_main(NAME, run)


if __name__ == "__main__":
    main()
