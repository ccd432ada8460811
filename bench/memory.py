"""Item 6: the orchestrator's RSS at start and after 10,000 distinct sessions of 3 turns.

Offline routing (no model), SQLite, the reserva agent up; each session greets, asks for a
booking (delegated to the agent) and thanks. Sessions run 50 at a time, in chunks, with the
RSS read from /proc after each chunk to show the trend.
"""

from __future__ import annotations

from bench.common import (
    Figure,
    bench_main,
    check,
    orchestrator_env,
    orchestrator_process,
    pick,
    rss_mb,
    say,
    scratch_dir,
    start_agent,
    start_all,
    warm_chat,
)
from bench.load import run_load
from bench.workload import DELEGATE_MESSAGE

NAME = "memory"
SCRIPT = ["Hola, buenas tardes", DELEGATE_MESSAGE, "muchas gracias"]
CONCURRENCY = 50
TARGET_SESSIONS = 10_000


def run(scale: str = "default") -> list[Figure]:
    sessions, chunks = pick(scale, (400, 2), (3000, 6), (TARGET_SESSIONS, 10))
    say(f"{NAME}: {sessions} sessions × {len(SCRIPT)} turns, offline, {CONCURRENCY} at a time")
    agent = start_agent("reserva", start=False)
    start_all(agent)
    orch = None
    try:
        with scratch_dir("memory") as tmp:
            orch = orchestrator_process(orchestrator_env(None, agent, tmp))
            start_all(orch)
            rss_start = rss_mb(orch.pid)
            say(f"  RSS at start (/health 200): {rss_start:.1f} MiB")
            warm_chat(orch.url, "warm-0", DELEGATE_MESSAGE)
            run_load(
                orch.url,
                label="memory-warm",
                concurrency=CONCURRENCY,
                sessions=50,
                messages=SCRIPT,
                progress=0,
            )
            rss_warm = rss_mb(orch.pid)
            say(f"  RSS after a warm-up of 50 sessions: {rss_warm:.1f} MiB")
            done, turns, seconds, errors = 0, 0, 0.0, 0
            trend = []
            per_chunk = sessions // chunks
            for chunk in range(chunks):
                result = run_load(
                    orch.url,
                    label=f"memory-{chunk + 1}/{chunks}",
                    concurrency=CONCURRENCY,
                    sessions=per_chunk,
                    messages=SCRIPT,
                    session_prefix=f"mem{chunk}",
                    max_seconds=300,
                    progress=0,
                )
                done += per_chunk
                turns += result.turns
                seconds += result.elapsed_s
                errors += result.errors
                trend.append(rss_mb(orch.pid))
                say(
                    f"  {done} sessions: RSS {trend[-1]:.1f} MiB "
                    f"({result.throughput:.0f} turns/s, errors {result.errors})"
                )
            rss_end = trend[-1]
    finally:
        if orch is not None:
            orch.stop()
        agent.stop()
    growth = rss_end - rss_start
    half = len(trend) // 2
    slope = (trend[-1] - trend[half - 1]) / ((len(trend) - half) * per_chunk) * 1000
    measured = done >= TARGET_SESSIONS
    projectable = done >= 2000  # below that, allocator steps dwarf the trend
    figures = [
        Figure(NAME, "RSS at start (/health 200)", rss_start, "MiB"),
        Figure(
            NAME,
            f"RSS after {done} sessions × {len(SCRIPT)} turns",
            rss_end,
            "MiB",
            note=f"{turns} turns at {turns / seconds:.0f} turns/s",
        ),
        Figure(
            NAME,
            f"RSS growth after {done} sessions",
            growth,
            "MiB",
            "≤ 100 MB" if measured else "",
            check(growth, 100) if measured else None,
        ),
        Figure(NAME, "RSS growth per 1,000 sessions (second half of the run)", slope, "MiB"),
    ]
    if not measured and projectable:
        projected = growth + slope * (TARGET_SESSIONS - done) / 1000
        figures.append(
            Figure(
                NAME,
                f"RSS growth projected to {TARGET_SESSIONS} sessions",
                projected,
                "MiB",
                "≤ 100 MB",
                check(projected, 100),
                "extrapolated; --full measures it",
            )
        )
    if errors:
        figures.append(Figure(NAME, "failed turns (should be 0)", errors, "", "0", False))
    return figures


def main() -> None:
    bench_main(NAME, run)


if __name__ == "__main__":
    main()
