"""Issue 15 item 5: throughput at 1, 2 and 4 uvicorn workers (SQLite and PostgreSQL) and integrity.

For each backend and worker count (WEB_CONCURRENCY), the zero-latency stub and reserva agent,
50 sessions in flight, every turn delegated: turns per second and latency p50/p99. Then the
integrity run on the same server: 50 concurrent messages to one session (MAX_HISTORY_TURNS=100),
and how many turns the session holds afterwards (/memory/stats: 50 means none was lost). Last,
the SQLite turn lock alone: one uncontended hold and release, the cost it adds to every turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.checkpoint import PostgresStorage
from bench.common import (
    Figure,
    Service,
    bench_main,
    orchestrator_env,
    orchestrator_process,
    pick,
    say,
    scratch_dir,
    start_helpers,
    warm_chat,
)
from bench.load import LoadResult, run_load
from bench.stats import median
from bench.workload import CHAT_PATH, CONFIG, DELEGATE_MESSAGE
from server.storage.sqlite_lock import open_sqlite_lock

NAME = "scale"
WORKERS = (1, 2, 4)
BURST = 50


@contextlib.contextmanager
def storage(kind: str, tmp: Path) -> Iterator[dict[str, str]]:
    """The environment selecting a fresh store of this kind (a throwaway PostgreSQL database)."""
    if kind == "sqlite":
        yield {"CHECKPOINT_DB": str(tmp / f"scale-{uuid.uuid4().hex[:6]}.sqlite")}
        return
    pg = PostgresStorage()
    try:
        yield {"DATABASE_URL": pg.url}
    finally:
        pg.close()


def wait_workers(service: Service, workers: int, timeout: float = 60) -> None:
    """Until /metrics counts every worker (all of them have started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            got = httpx.get(f"{service.url}/metrics", timeout=5, trust_env=False).json()
            if got.get("workers") == workers:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{workers} workers never answered on {service.url}")


async def _burst(url: str, session: str) -> list[int]:
    limits = httpx.Limits(max_connections=BURST)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits, trust_env=False) as c:

        async def one(n: int) -> int:
            body = {"message": f"{DELEGATE_MESSAGE} ({n})", "session_id": session, "config": CONFIG}
            r = await c.post(CHAT_PATH, json=body, headers={"connection": "close"})
            return r.status_code

        return list(await asyncio.gather(*(one(n) for n in range(BURST))))


def integrity(service: Service) -> tuple[int, int]:
    """(answered 200, turns stored) after BURST concurrent messages to one session."""
    session = f"burst-{uuid.uuid4().hex[:8]}"
    codes = asyncio.run(_burst(service.url, session))
    stats = httpx.get(f"{service.url}/memory/stats", timeout=30, trust_env=False).json()
    return codes.count(200), int(stats["sessions"].get(session, 0))


def measure(
    kind: str, workers: int, stub: Service, agent: Service, sessions: int
) -> tuple[LoadResult, tuple[int, int]]:
    with scratch_dir(f"scale-{kind}") as tmp, storage(kind, tmp) as env_store:
        env = orchestrator_env(
            stub, agent, tmp, WEB_CONCURRENCY=workers, MAX_HISTORY_TURNS=100, **env_store
        )
        service = orchestrator_process(env, name=f"orchestrator-{kind}-{workers}w")
        service.process.start()
        try:
            wait_workers(service, workers)
            warm_chat(service.url, f"warm-{workers}", DELEGATE_MESSAGE)
            label = f"{kind} {workers}w"
            result = run_load(service.url, label=label, concurrency=50, sessions=sessions, repeat=2)
            say(f"  {result.describe()}")
            kept = integrity(service)
            say(f"  integrity {label}: {kept[0]}/{BURST} answered 200, {kept[1]} stored")
            return result, kept
        finally:
            service.stop()


async def _lock_cost(samples: int) -> tuple[float, float]:
    """(p50 ms a turn waits to take an uncontended lock, ms per take + release in a tight loop)."""
    with tempfile.TemporaryDirectory(prefix="bench-lock-") as tmp:
        async with open_sqlite_lock(Path(tmp) / "checkpoints.sqlite") as lock:
            waits = []
            started = time.perf_counter()
            for n in range(samples):
                t0 = time.perf_counter()
                async with lock.hold(f"s{n % 50}", 5):
                    waits.append((time.perf_counter() - t0) * 1000)
            per_turn = (time.perf_counter() - started) * 1000 / samples
    return median(waits), per_turn


def run(scale: str = "default") -> list[Figure]:
    sessions = pick(scale, 60, 250, 1000)
    say(
        f"{NAME}: {', '.join(map(str, WORKERS))} workers on SQLite and PostgreSQL, "
        f"{sessions} sessions x 2 turns, 50 in flight; integrity {BURST} messages to one session"
    )
    figures: list[Figure] = []
    stub, agent = start_helpers()
    try:
        for kind in ("sqlite", "postgres"):
            single: float | None = None
            for workers in WORKERS:
                try:
                    result, (answered, stored) = measure(kind, workers, stub, agent, sessions)
                except Exception as exc:  # reported in the table, the rest goes on
                    say(f"  {kind} {workers}w: FAILED {type(exc).__name__}: {exc}")
                    figures.append(Figure(NAME, f"{kind} {workers} workers: FAILED", None))
                    continue
                s = result.summary()
                single = single or result.throughput
                figures.append(
                    Figure(
                        NAME,
                        f"{kind}, {workers} worker{'s' if workers > 1 else ''}: turns/s "
                        f"(p50 / p99 {s['p50']:.1f} / {s['p99']:.1f} ms; "
                        f"{result.throughput / single:.2f}× one worker; errors {result.errors})",
                        result.throughput,
                        "turns/s",
                    )
                )
                figures.append(
                    Figure(
                        NAME,
                        f"{kind}, {workers} worker{'s' if workers > 1 else ''}: turns stored of "
                        f"{BURST} concurrent to one session ({answered} answered 200)",
                        stored,
                        target=str(BURST),
                        met=stored == BURST and answered == BURST,
                    )
                )
    finally:
        stub.stop()
        agent.stop()
    wait, per_turn = asyncio.run(_lock_cost(pick(scale, 200, 1000, 3000)))
    figures.append(
        Figure(NAME, "SQLite turn lock: a turn waits to take it, uncontended (p50)", wait, "ms")
    )
    figures.append(
        Figure(NAME, "SQLite turn lock: take + release, one after another", per_turn, "ms")
    )
    return figures


def main() -> None:
    bench_main(NAME, run)


if __name__ == "__main__":
    main()
