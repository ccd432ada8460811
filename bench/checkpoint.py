"""Item 4: checkpoint cost on SQLite and PostgreSQL: rows and bytes per session, bytes written per
turn, and the time of a turn at history length 1 against history length 200.

Two orchestrators per backend (MAX_HISTORY_TURNS=200): one routing with the model (the stub: the
realistic turn, whose model request carries the whole history) and one offline (no model
request: graph and checkpointer only). Bytes written are the database's own write-ahead log:
SQLite's -wal file (truncated before each phase) and PostgreSQL's WAL position, less the WAL
written by the rest of the cluster during an idle window of the same length.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

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
    start_helpers,
    warm_chat,
)
from bench.load import run_load
from bench.stats import median, percentile
from bench.workload import CHAT_PATH, CONFIG, DELEGATE_MESSAGE
from server.conversations.keys import conversation_key

NAME = "checkpoint"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MAX_HISTORY = 200


class Storage(Protocol):
    """Reads what one session holds and how many bytes the database wrote."""

    kind: str

    def session(self, thread_id: str) -> dict[str, int]: ...
    def start_writes(self) -> None: ...
    def written(self) -> int: ...


class SqliteStorage:
    """The orchestrator's SQLite file, read with a second connection."""

    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wal = Path(f"{path}-wal")
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        return self._conn

    def session(self, thread_id: str) -> dict[str, int]:
        db = self._db()
        rows, size = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) "
            "FROM checkpoints WHERE thread_id = ?",
            (thread_id,),
        ).fetchone()
        writes, wsize = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?",
            (thread_id,),
        ).fetchone()
        return {"checkpoints": rows, "writes": writes, "blobs": 0, "bytes": size + wsize}

    def start_writes(self) -> None:
        busy, _, _ = self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            say("  WARNING: SQLite WAL could not be truncated (a reader was active)")

    def written(self) -> int:
        return self.wal.stat().st_size if self.wal.exists() else 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


class PostgresStorage:
    """A throwaway database, created here and dropped by close()."""

    kind = "postgres"

    def __init__(self) -> None:
        import psycopg

        self.name = f"bench_ckpt_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
        admin.execute(f'CREATE DATABASE "{self.name}"')
        self._admin = admin
        self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"
        self._conn: Any = None
        self._lsn: str | None = None
        self._window: float = 0.0

    def _db(self) -> Any:
        if self._conn is None:
            import psycopg

            self._conn = psycopg.connect(self.url, autocommit=True)
        return self._conn

    def session(self, thread_id: str) -> dict[str, int]:
        row = (
            self._db()
            .execute(
                "SELECT (SELECT COUNT(*) FROM checkpoints WHERE thread_id = %(t)s),"
                " (SELECT COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)), 0)"
                "  FROM checkpoints WHERE thread_id = %(t)s),"
                " (SELECT COUNT(*) FROM checkpoint_blobs WHERE thread_id = %(t)s),"
                " (SELECT COALESCE(SUM(LENGTH(blob)), 0) FROM checkpoint_blobs"
                "  WHERE thread_id = %(t)s),"
                " (SELECT COUNT(*) FROM checkpoint_writes WHERE thread_id = %(t)s),"
                " (SELECT COALESCE(SUM(LENGTH(blob)), 0) FROM checkpoint_writes"
                "  WHERE thread_id = %(t)s)",
                {"t": thread_id},
            )
            .fetchone()
        )
        rows, csize, blobs, bsize, writes, wsize = (int(v) for v in row)
        return {
            "checkpoints": rows,
            "writes": writes,
            "blobs": blobs,
            "bytes": csize + bsize + wsize,
        }

    def _scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self._admin.execute(sql, params).fetchone()
        assert row is not None  # a SELECT without FROM always returns one row
        return row[0]

    def _lsn_now(self) -> str:
        return str(self._scalar("SELECT pg_current_wal_insert_lsn()::text"))

    def _diff(self, since: str) -> int:
        return int(
            self._scalar("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", (since,))
        )

    def start_writes(self) -> None:
        self._lsn, self._t = self._lsn_now(), time.monotonic()

    def written(self) -> int:
        """WAL bytes since start_writes, less what the cluster wrote while idle as long."""
        assert self._lsn is not None
        total, window = self._diff(self._lsn), time.monotonic() - self._t
        quiet = self._lsn_now()
        time.sleep(min(window, 5.0))
        background = self._diff(quiet) * window / max(min(window, 5.0), 1e-3)
        return max(0, int(total - background))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        with contextlib.suppress(Exception):
            self._admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin.close()


@dataclass
class ModeResult:
    """What one orchestrator (one backend, one routing mode) measured."""

    backend: str
    mode: str
    history: int
    t_short: list[float] = field(default_factory=list)
    t_long: list[float] = field(default_factory=list)
    store_short: dict[str, int] = field(default_factory=dict)
    store_long: dict[str, int] = field(default_factory=dict)
    written_short: float = 0.0
    written_long: float = 0.0
    cpu_short: dict[str, float] = field(default_factory=dict)
    cpu_long: dict[str, float] = field(default_factory=dict)


def stored_thread(session_id: str) -> str:
    """The checkpoint thread of a session: its conversation key (CONFIG's company and the id)."""
    return conversation_key(int(CONFIG["id_empresa"]), session_id, "company")


def turn_ms(client: httpx.Client, session_id: str) -> float:
    """One chat turn, timed (ms); raises on anything but 200."""
    body = {"message": DELEGATE_MESSAGE, "session_id": session_id, "config": CONFIG}
    t0 = time.perf_counter()
    r = client.post(CHAT_PATH, json=body)
    elapsed = (time.perf_counter() - t0) * 1000
    r.raise_for_status()
    return elapsed


class CpuMeter:
    """CPU ms per turn of some processes over a stretch of turns."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def per_turn(self, turns: int) -> dict[str, float]:
        return {
            name: (cpu_seconds(pid) - self.before[name]) * 1000 / turns
            for name, pid in self.pids.items()
        }


def measure_mode(
    orch: Service, storage: Storage, mode: str, history: int, samples: int, stub: Service
) -> ModeResult:
    """Build a session of `history` turns, then time turns at history 1 and at `history`."""
    res = ModeResult(storage.kind, mode, history)
    tag = f"{mode}-{uuid.uuid4().hex[:6]}"
    long_sid = f"long-{tag}"
    warm_chat(orch.url, f"warm-{tag}", DELEGATE_MESSAGE)
    say(f"  {storage.kind}/{mode}: building a session of {history} turns")
    built = run_load(
        orch.url,
        label=f"{storage.kind}-{mode}-build",
        concurrency=1,
        sessions=1,
        repeat=history,
        session_prefix=long_sid,
        max_seconds=180,
        progress=10,
    )
    long_sid = f"{long_sid}-0"
    if built.turns != history:
        raise RuntimeError(f"built {built.turns}/{history} turns: {built.first_error}")
    with httpx.Client(base_url=orch.url, timeout=60, trust_env=False) as client:
        short = [f"short-{tag}-{i}" for i in range(samples)]
        for sid in short:  # history 1: each of these sessions holds one turn
            turn_ms(client, sid)
        say(
            f"  {storage.kind}/{mode}: {samples} turns at history 1 and at history {history}, "
            "alternating"
        )
        for sid in short:
            res.t_short.append(turn_ms(client, sid))
            res.t_long.append(turn_ms(client, long_sid))
        res.store_short = storage.session(stored_thread(short[0]))
        res.store_long = storage.session(stored_thread(long_sid))
        n_written = max(5, samples // 2)
        fresh = [f"fresh-{tag}-{i}" for i in range(n_written)]
        for sid in fresh:
            turn_ms(client, sid)
        pids = {"orchestrator": orch.pid, "stub": stub.pid}
        storage.start_writes()
        meter = CpuMeter(pids)
        for sid in fresh:
            turn_ms(client, sid)
        res.cpu_short = meter.per_turn(n_written)
        res.written_short = storage.written() / n_written
        storage.start_writes()
        meter = CpuMeter(pids)
        for _ in range(n_written):
            turn_ms(client, long_sid)
        res.cpu_long = meter.per_turn(n_written)
        res.written_long = storage.written() / n_written
    say(
        f"  {storage.kind}/{mode}: p50 {median(res.t_short):.1f} ms at history 1, "
        f"{median(res.t_long):.1f} ms at history {history}; session rows "
        f"{res.store_short} / {res.store_long}; written per turn "
        f"{res.written_short / 1024:.1f} KiB / {res.written_long / 1024:.1f} KiB; CPU ms per "
        f"turn {fmt_cpu(res.cpu_short)} / {fmt_cpu(res.cpu_long)}"
    )
    return res


def fmt_cpu(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.1f}" for name, ms in cpu.items())


@contextlib.contextmanager
def backend(kind: str, tmp: Path) -> Iterator[tuple[dict[str, str], dict[str, str], Any, Any]]:
    """(env for the model orchestrator, env for the offline one, storage model, storage offline)."""
    if kind == "sqlite":
        paths = [tmp / "model.sqlite", tmp / "offline.sqlite"]
        stores = [SqliteStorage(p) for p in paths]
        try:
            env = [{"CHECKPOINT_DB": str(p)} for p in paths]
            yield env[0], env[1], stores[0], stores[1]
        finally:
            for s in stores:
                s.close()
        return
    stores_pg = [PostgresStorage(), PostgresStorage()]
    say(f"  created throwaway databases {', '.join(s.name for s in stores_pg)}")
    try:
        env = [{"DATABASE_URL": s.url} for s in stores_pg]
        yield env[0], env[1], stores_pg[0], stores_pg[1]
    finally:
        for pg in stores_pg:
            pg.close()
        say("  dropped the throwaway databases")


def run_backend(
    kind: str, stub: Service, agent: Service, history: int, samples: int
) -> list[ModeResult]:
    with scratch_dir(f"ckpt-{kind}") as tmp, backend(kind, tmp) as (env_m, env_o, st_m, st_o):
        common = {"MAX_HISTORY_TURNS": MAX_HISTORY}
        model = orchestrator_process(
            orchestrator_env(stub, agent, tmp, **common, **env_m), name=f"orchestrator-{kind}-model"
        )
        offline = orchestrator_process(
            orchestrator_env(None, agent, tmp, **common, **env_o),
            name=f"orchestrator-{kind}-offline",
        )
        start_all(model, offline)
        try:
            return [
                measure_mode(model, st_m, "model", history, samples, stub),
                measure_mode(offline, st_o, "offline", history, samples, stub),
            ]
        finally:
            model.stop()
            offline.stop()


def run(scale: str = "default") -> list[Figure]:
    history = pick(scale, 30, MAX_HISTORY, MAX_HISTORY)
    samples = pick(scale, 6, 16, 30)
    say(
        f"{NAME}: SQLite and PostgreSQL, history 1 against {history} "
        f"(MAX_HISTORY_TURNS={MAX_HISTORY})"
    )
    stub, agent = start_helpers()
    results: list[ModeResult] = []
    try:
        for kind in ("sqlite", "postgres"):
            try:
                results += run_backend(kind, stub, agent, history, samples)
            except Exception as exc:  # PostgreSQL may be absent: report, go on
                say(f"  {kind}: FAILED {type(exc).__name__}: {exc}")
    finally:
        stub.stop()
        agent.stop()
    return figures(results)


def figures(results: list[ModeResult]) -> list[Figure]:
    out: list[Figure] = []
    for r in results:
        b, h = r.backend, r.history
        ratio = median(r.t_long) / median(r.t_short)
        if r.mode == "model":
            out += [
                Figure(
                    NAME,
                    f"{b}: checkpoint rows per session after 1 / {h} turns",
                    r.store_long["checkpoints"],
                    "",
                    "1",
                    r.store_long["checkpoints"] == 1 and r.store_short["checkpoints"] == 1,
                    f"{r.store_short['checkpoints']} / {r.store_long['checkpoints']}; "
                    f"writes rows {r.store_short['writes']} / {r.store_long['writes']}"
                    + (
                        f"; blob rows {r.store_short['blobs']} / {r.store_long['blobs']}"
                        if b == "postgres"
                        else ""
                    ),
                ),
                Figure(
                    NAME,
                    f"{b}: stored bytes of a session holding 1 turn",
                    r.store_short["bytes"] / 1024,
                    "KiB",
                ),
                Figure(
                    NAME,
                    f"{b}: stored bytes of a session holding {h} turns",
                    r.store_long["bytes"] / 1024,
                    "KiB",
                ),
                Figure(
                    NAME,
                    f"{b}: bytes written per turn (WAL), history 1",
                    r.written_short / 1024,
                    "KiB",
                ),
                Figure(
                    NAME,
                    f"{b}: bytes written per turn (WAL), history {h}",
                    r.written_long / 1024,
                    "KiB",
                ),
                Figure(
                    NAME,
                    f"{b}: turn time p50 at history 1 / {h} (model)",
                    median(r.t_long),
                    "ms",
                    note=f"{median(r.t_short):.1f} / "
                    f"{median(r.t_long):.1f} ms, p95 {percentile(r.t_long, 95):.1f}",
                ),
                Figure(
                    NAME,
                    f"{b}: turn time history {h} ÷ history 1 (model)",
                    ratio,
                    "×",
                    "≤ 1.2",
                    check(ratio, 1.2),
                ),
                Figure(
                    NAME,
                    f"{b}: orchestrator CPU per turn at history 1 / {h} (model)",
                    r.cpu_long.get("orchestrator"),
                    "ms",
                    note=f"{r.cpu_short.get('orchestrator', 0):.1f} / "
                    f"{r.cpu_long.get('orchestrator', 0):.1f} ms; stub "
                    f"{r.cpu_short.get('stub', 0):.1f} / {r.cpu_long.get('stub', 0):.1f} ms",
                ),
            ]
        else:
            out.append(
                Figure(
                    NAME,
                    f"{b}: turn time history {h} ÷ history 1 (offline: no model request)",
                    ratio,
                    "×",
                    "≤ 1.2",
                    check(ratio, 1.2),
                    f"{median(r.t_short):.1f} / {median(r.t_long):.1f} ms; CPU "
                    f"{r.cpu_short.get('orchestrator', 0):.1f} / "
                    f"{r.cpu_long.get('orchestrator', 0):.1f} ms",
                )
            )
    return out


def main() -> None:
    bench_main(NAME, run)


if __name__ == "__main__":
    main()
