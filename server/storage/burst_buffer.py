"""The burst buffer (DOUBLE_TEXTING=merge): customer messages waiting to be answered as one turn.

A table in the checkpoints' database (SQLite or PostgreSQL), so every worker process and every
instance sharing the database sees the same bursts. One row per message, keyed by conversation,
in arrival order (`seq`). Only the message text is kept (it is stored in the checkpoint anyway):
never the company's key or the client's config. Rows are deleted once their turn is stored.

Every change of a conversation's rows runs in one transaction serialized per conversation (a
PostgreSQL transaction advisory lock; SQLite's BEGIN IMMEDIATE), so:
- `add` inserts a message and marks every earlier unclaimed message of the conversation as
  merged into it (their requests answer "merged");
- `claim` gives the newest message's request every unclaimed message of its burst, unless its
  own message was merged meanwhile or another turn of the conversation is still in flight.
"""

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")

BUSY_TIMEOUT = 10.0
"""Seconds a SQLite write waits for the database's write lock."""


@dataclass(frozen=True)
class RowState:
    """What a waiting request reads of its burst."""

    merged_into: str | None
    """The request whose message joined this one's burst (None while this one is the newest)."""
    first_age: float
    """Seconds since the first message of the burst arrived."""


@dataclass(frozen=True)
class Claim:
    """The outcome of a claim: the burst's messages in arrival order, or why there are none."""

    messages: list[str] | None = None
    merged_into: str | None = None
    """Set when this request's message was merged into a later one's meanwhile."""
    busy: bool = False
    """Another turn of the conversation is still in flight: try again once it is stored."""


class BurstBuffer(Protocol):
    """The buffer's operations (SQLite and PostgreSQL)."""

    async def add(self, conversation: str, request_id: str, message: str) -> tuple[int, bool]:
        """Insert a message; returns its seq and whether it joined earlier waiting messages."""
        ...

    async def state(self, seq: int) -> RowState | None:
        """The message's burst as it stands (None when the row is gone)."""
        ...

    async def claim(
        self, conversation: str, seq: int, turn_id: str, stale_after: float
    ) -> Claim: ...

    async def release(self, turn_id: str) -> None:
        """Delete the rows a turn claimed (once it is stored or has failed)."""
        ...

    async def drop(self, seq: int) -> None:
        """Delete one message that was refused (a rate limit) before any turn claimed it."""
        ...

    async def requeue(self, turn_id: str, own_seq: int) -> None:
        """A turn that never ran (refused with a status): its own message is dropped (its
        request got the status), the merged ones wait again for the conversation's next turn."""
        ...


SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS burst_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL,
    request_id TEXT NOT NULL,
    message TEXT NOT NULL,
    arrived_at REAL NOT NULL,
    merged_into TEXT,
    turn_id TEXT,
    claimed_at REAL
);
CREATE INDEX IF NOT EXISTS burst_messages_conversation ON burst_messages (conversation, seq);
CREATE INDEX IF NOT EXISTS burst_messages_turn ON burst_messages (turn_id);
"""


class _SqliteRows:
    """The buffer's statements on one sqlite3 connection (run on its one thread)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")  # as the checkpoints' connection
        self.conn.executescript(SQLITE_SCHEMA)

    def _write(self, fn: Callable[[], T]) -> T:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn()
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return result

    def add(self, conversation: str, request_id: str, message: str) -> tuple[int, bool]:
        def write() -> tuple[int, bool]:
            row = self.conn.execute(
                "INSERT INTO burst_messages (conversation, request_id, message, arrived_at) "
                "VALUES (?, ?, ?, ?) RETURNING seq",
                (conversation, request_id, message, time.time()),
            ).fetchone()
            seq = int(row[0])
            joined = self.conn.execute(
                "UPDATE burst_messages SET merged_into = ? WHERE conversation = ? "
                "AND turn_id IS NULL AND merged_into IS NULL AND seq < ?",
                (request_id, conversation, seq),
            ).rowcount
            return seq, joined > 0

        return self._write(write)

    def state(self, seq: int) -> RowState | None:
        row = self.conn.execute(
            "SELECT m.merged_into, (SELECT min(f.arrived_at) FROM burst_messages f "
            "WHERE f.conversation = m.conversation AND f.turn_id IS NULL) "
            "FROM burst_messages m WHERE m.seq = ?",
            (seq,),
        ).fetchone()
        if row is None:
            return None
        first = row[1] if row[1] is not None else time.time()
        return RowState(merged_into=row[0], first_age=time.time() - first)

    def claim(self, conversation: str, seq: int, turn_id: str, stale_after: float) -> Claim:
        def write() -> Claim:
            mine = self.conn.execute(
                "SELECT merged_into, turn_id FROM burst_messages WHERE seq = ?", (seq,)
            ).fetchone()
            if mine is None or mine[0] is not None or mine[1] is not None:
                return Claim(merged_into=(mine[0] or mine[1]) if mine else "")
            now = time.time()
            busy = self.conn.execute(
                "SELECT 1 FROM burst_messages WHERE conversation = ? AND turn_id IS NOT NULL "
                "AND claimed_at > ? LIMIT 1",
                (conversation, now - stale_after),
            ).fetchone()
            if busy is not None:
                return Claim(busy=True)
            rows = self.conn.execute(
                "UPDATE burst_messages SET turn_id = ?, claimed_at = ? WHERE conversation = ? "
                "AND turn_id IS NULL AND seq <= ? RETURNING seq, message",
                (turn_id, now, conversation, seq),
            ).fetchall()
            return Claim(messages=[message for _, message in sorted(rows)])

        return self._write(write)

    def release(self, turn_id: str) -> None:
        self.conn.execute("DELETE FROM burst_messages WHERE turn_id = ?", (turn_id,))

    def drop(self, seq: int) -> None:
        self.conn.execute("DELETE FROM burst_messages WHERE seq = ?", (seq,))

    def requeue(self, turn_id: str, own_seq: int) -> None:
        def write() -> None:
            self.conn.execute("DELETE FROM burst_messages WHERE seq = ?", (own_seq,))
            self.conn.execute(
                "UPDATE burst_messages SET turn_id = NULL, claimed_at = NULL WHERE turn_id = ?",
                (turn_id,),
            )

        self._write(write)


class SqliteBurstBuffer:
    """The buffer in the SQLite checkpoints file, on a connection and thread of its own (the
    checkpoints' thread is never held up by a waiting request's polls)."""

    def __init__(self, rows: _SqliteRows, executor: ThreadPoolExecutor) -> None:
        self._rows = rows
        self._executor = executor

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def add(self, conversation: str, request_id: str, message: str) -> tuple[int, bool]:
        return await self._run(self._rows.add, conversation, request_id, message)

    async def state(self, seq: int) -> RowState | None:
        return await self._run(self._rows.state, seq)

    async def claim(self, conversation: str, seq: int, turn_id: str, stale_after: float) -> Claim:
        return await self._run(self._rows.claim, conversation, seq, turn_id, stale_after)

    async def release(self, turn_id: str) -> None:
        await self._run(self._rows.release, turn_id)

    async def drop(self, seq: int) -> None:
        await self._run(self._rows.drop, seq)

    async def requeue(self, turn_id: str, own_seq: int) -> None:
        await self._run(self._rows.requeue, turn_id, own_seq)


@asynccontextmanager
async def open_sqlite_buffer(path: str | Path) -> AsyncIterator[SqliteBurstBuffer]:
    """The buffer table in the SQLite file at `path` (created when missing), closed on exit."""
    executor = ThreadPoolExecutor(1, thread_name_prefix="burst-buffer")
    loop = asyncio.get_running_loop()
    try:
        rows = await loop.run_in_executor(executor, _SqliteRows, Path(path))
        try:
            yield SqliteBurstBuffer(rows, executor)
        finally:
            await loop.run_in_executor(executor, rows.conn.close)
    finally:
        executor.shutdown(wait=True)


POSTGRES_SCHEMA = """
CREATE TABLE IF NOT EXISTS burst_messages (
    seq BIGSERIAL PRIMARY KEY,
    conversation TEXT NOT NULL,
    request_id TEXT NOT NULL,
    message TEXT NOT NULL,
    arrived_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    merged_into TEXT,
    turn_id TEXT,
    claimed_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS burst_messages_conversation ON burst_messages (conversation, seq);
CREATE INDEX IF NOT EXISTS burst_messages_turn ON burst_messages (turn_id);
"""
_PG_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 2))"
"""Serializes one conversation's buffer writes (key space 2: the session locks use 0 and 1)."""


class PostgresBurstBuffer:
    """The buffer in the PostgreSQL checkpoints database (every instance sees it). Times are the
    database's clock, so instances on hosts whose clocks differ agree on a burst's age."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def setup(self) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('bursts', 2))")
            for statement in filter(str.strip, POSTGRES_SCHEMA.split(";")):
                await conn.execute(statement)

    async def add(self, conversation: str, request_id: str, message: str) -> tuple[int, bool]:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(_PG_LOCK, (conversation,))
            row = await (
                await conn.execute(
                    "INSERT INTO burst_messages (conversation, request_id, message) "
                    "VALUES (%s, %s, %s) RETURNING seq",
                    (conversation, request_id, message),
                )
            ).fetchone()
            seq = int(_first(row))
            cursor = await conn.execute(
                "UPDATE burst_messages SET merged_into = %s WHERE conversation = %s "
                "AND turn_id IS NULL AND merged_into IS NULL AND seq < %s",
                (request_id, conversation, seq),
            )
            return seq, cursor.rowcount > 0

    async def state(self, seq: int) -> RowState | None:
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT m.merged_into AS merged_into, extract(epoch FROM clock_timestamp() - "
                    "(SELECT min(f.arrived_at) FROM burst_messages f WHERE f.conversation = "
                    "m.conversation AND f.turn_id IS NULL)) AS first_age "
                    "FROM burst_messages m WHERE m.seq = %s",
                    (seq,),
                )
            ).fetchone()
        if row is None:
            return None
        values = _values(row)
        return RowState(merged_into=values[0], first_age=float(values[1] or 0.0))

    async def claim(self, conversation: str, seq: int, turn_id: str, stale_after: float) -> Claim:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(_PG_LOCK, (conversation,))
            mine = await (
                await conn.execute(
                    "SELECT merged_into, turn_id FROM burst_messages WHERE seq = %s", (seq,)
                )
            ).fetchone()
            if mine is None:
                return Claim(merged_into="")
            merged_into, claimed_by = _values(mine)
            if merged_into is not None or claimed_by is not None:
                return Claim(merged_into=merged_into or claimed_by)
            busy = await (
                await conn.execute(
                    "SELECT 1 FROM burst_messages WHERE conversation = %s AND turn_id IS NOT NULL "
                    "AND claimed_at > clock_timestamp() - make_interval(secs => %s) LIMIT 1",
                    (conversation, stale_after),
                )
            ).fetchone()
            if busy is not None:
                return Claim(busy=True)
            rows = await (
                await conn.execute(
                    "UPDATE burst_messages SET turn_id = %s, claimed_at = clock_timestamp() "
                    "WHERE conversation = %s AND turn_id IS NULL AND seq <= %s "
                    "RETURNING seq, message",
                    (turn_id, conversation, seq),
                )
            ).fetchall()
            return Claim(messages=[message for _, message in sorted(map(_values, rows))])

    async def release(self, turn_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM burst_messages WHERE turn_id = %s", (turn_id,))

    async def drop(self, seq: int) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM burst_messages WHERE seq = %s", (seq,))

    async def requeue(self, turn_id: str, own_seq: int) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM burst_messages WHERE seq = %s", (own_seq,))
            await conn.execute(
                "UPDATE burst_messages SET turn_id = NULL, claimed_at = NULL WHERE turn_id = %s",
                (turn_id,),
            )


def _values(row: Any) -> tuple[Any, ...]:
    """A row's values in column order (the pool's rows are dicts)."""
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _first(row: Any) -> Any:
    return _values(row)[0]


@asynccontextmanager
async def open_burst_buffer(
    pool: AsyncConnectionPool | None, sqlite_path: str | Path
) -> AsyncIterator[BurstBuffer]:
    """The buffer in the checkpoints' database: PostgreSQL when `pool` is given, else SQLite."""
    if pool is not None:
        buffer = PostgresBurstBuffer(pool)
        await buffer.setup()
        yield buffer
        return
    async with open_sqlite_buffer(sqlite_path) as sqlite_buffer:
        yield sqlite_buffer
