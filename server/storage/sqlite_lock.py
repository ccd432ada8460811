"""Session turn locks shared by every process on the machine: a ticket queue in a SQLite file.

Each turn takes a ticket (an autoincrement row) when it arrives and runs once its ticket is the
oldest of its session, so turns of one session run one at a time and in arrival order across
uvicorn workers. A ticket names its owner process (host, pid and start time); the ticket of a
process that died is deleted by the next waiter, so a crash never blocks a session.
"""

import asyncio
import functools
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from server.lifecycle.process_identity import owner_alive, process_owner
from server.storage.locks import SessionLockTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS turn_tickets (
    ticket INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    owner TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turn_tickets_key ON turn_tickets (key, ticket);
"""
POLL_FIRST, POLL_MAX = 0.002, 0.025
"""Seconds between checks while another process holds the session (growing ×1.5 up to the max)."""


def lock_file_for(checkpoint_db: str | Path) -> Path:
    """The lock database next to the checkpoint database (data/checkpoints.locks.sqlite)."""
    path = Path(checkpoint_db)
    return path.with_name(f"{path.stem}.locks{path.suffix or '.sqlite'}")


class _Queue:
    """What a SQLite connection does for the lock, run on its one thread."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(
            str(path), timeout=10, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=OFF")  # tickets need not survive a power cut
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def take(self, key: str, owner: str) -> tuple[int, bool]:
        """A new ticket for `key`, and whether it is the oldest already."""
        with self._conn:
            row = self._conn.execute(
                "INSERT INTO turn_tickets (key, owner) VALUES (?, ?) RETURNING ticket",
                (key, owner),
            ).fetchone()
        ticket = int(row[0])
        return ticket, self.is_head(key, ticket)

    def is_head(self, key: str, ticket: int) -> bool:
        """True when `ticket` is the oldest of its key; drops older tickets of dead owners."""
        while True:
            row = self._conn.execute(
                "SELECT ticket, owner FROM turn_tickets WHERE key = ? ORDER BY ticket LIMIT 1",
                (key,),
            ).fetchone()
            if row is None or row[0] == ticket:
                return True
            if owner_alive(row[1]):
                return False
            log.warning("dropping the turn lock of a dead process", extra={"owner": row[1]})
            with self._conn:
                self._conn.execute("DELETE FROM turn_tickets WHERE ticket = ?", (row[0],))

    def drop(self, ticket: int) -> None:
        with self._conn:
            self._conn.execute("DELETE FROM turn_tickets WHERE ticket = ?", (ticket,))

    def take_if_free(self, key: str, owner: str) -> int | None:
        """A ticket for `key` only when nobody alive holds or waits for it."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            rows = self._conn.execute(
                "SELECT ticket, owner FROM turn_tickets WHERE key = ?", (key,)
            ).fetchall()
            dead = [(ticket,) for ticket, who in rows if not owner_alive(who)]
            self._conn.executemany("DELETE FROM turn_tickets WHERE ticket = ?", dead)
            ticket = None
            if len(dead) == len(rows):
                row = self._conn.execute(
                    "INSERT INTO turn_tickets (key, owner) VALUES (?, ?) RETURNING ticket",
                    (key, owner),
                ).fetchone()
                ticket = int(row[0])
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return ticket

    def drop_dead(self) -> int:
        """Delete every ticket whose owner died (at start-up); returns how many."""
        rows = self._conn.execute("SELECT ticket, owner FROM turn_tickets").fetchall()
        dead = [(ticket,) for ticket, who in rows if not owner_alive(who)]
        with self._conn:
            self._conn.executemany("DELETE FROM turn_tickets WHERE ticket = ?", dead)
        return len(dead)


class SqliteTurnLock:
    """Per-session lock across processes; FIFO by arrival, so no in-process lock is needed first.

    Only the oldest waiter of a session in this process polls the file; the others wait for the
    in-process hand-over.
    """

    orders_arrivals = True

    def __init__(self, path: Path) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="turn-lock")
        self._queue = _Queue(path)
        self._owner = process_owner()
        self._waiting: dict[str, dict[int, asyncio.Event]] = {}

    def _submit(self, fn: Callable[..., T], *args: object) -> "asyncio.Future[T]":
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await self._submit(fn, *args)

    async def start(self) -> None:
        dropped = await self._run(self._queue.drop_dead)
        if dropped:
            log.warning("dropped turn locks of dead processes", extra={"count": dropped})

    async def aclose(self) -> None:
        await self._run(self._queue.close)
        self._executor.shutdown(wait=True)

    @asynccontextmanager
    async def hold(self, session_id: str, timeout: float) -> AsyncIterator[None]:
        """Wait up to `timeout` for the session; SessionLockTimeout past it."""
        key = f"s:{session_id}"
        deadline = time.monotonic() + timeout
        taking = self._submit(self._queue.take, key, self._owner)
        try:
            ticket, head = await asyncio.shield(taking)
        except asyncio.CancelledError:  # the row is written anyway: drop it once it is
            taking.add_done_callback(self._drop_taken)
            raise
        try:
            if not head:
                await self._wait(key, ticket, deadline)
        except BaseException:
            await self._release(key, ticket)
            raise
        try:
            yield
        finally:
            self._release_soon(key, ticket)

    def _drop_taken(self, taking: "asyncio.Future[tuple[int, bool]]") -> None:
        if not taking.cancelled() and taking.exception() is None:
            self._executor.submit(self._queue.drop, taking.result()[0])

    async def _wait(self, key: str, ticket: int, deadline: float) -> None:
        waiters = self._waiting.setdefault(key, {})
        event = waiters[ticket] = asyncio.Event()
        try:
            pause = POLL_FIRST
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SessionLockTimeout(key[2:])
                if ticket != min(waiters):  # an older waiter here goes first: wait for it
                    event.clear()
                    try:
                        await asyncio.wait_for(event.wait(), left)
                    except TimeoutError:
                        raise SessionLockTimeout(key[2:]) from None
                    continue
                if await self._run(self._queue.is_head, key, ticket):
                    return
                try:
                    await asyncio.wait_for(event.wait(), min(pause, left))
                except TimeoutError:
                    pause = min(POLL_MAX, pause * 1.5)
                else:
                    event.clear()
                    pause = POLL_FIRST
        finally:
            del waiters[ticket]
            if waiters:
                waiters[min(waiters)].set()
            else:
                del self._waiting[key]

    def _release_soon(self, key: str, ticket: int) -> None:
        """Drop the ticket without making the turn wait for it: the lock's one thread runs it
        before any later take of this process; local waiters are woken once it is done."""
        self._submit(self._queue.drop, ticket).add_done_callback(
            functools.partial(self._released, key)
        )

    def _released(self, key: str, dropping: "asyncio.Future[None]") -> None:
        if not dropping.cancelled() and dropping.exception() is not None:
            log.error(
                "turn lock release failed", extra={"error": type(dropping.exception()).__name__}
            )
        waiters = self._waiting.get(key)
        if waiters:
            waiters[min(waiters)].set()

    async def _release(self, key: str, ticket: int) -> None:
        try:
            await asyncio.shield(self._run(self._queue.drop, ticket))
        except Exception as exc:  # logged; the owner check frees it at exit
            log.error("turn lock release failed", extra={"error": type(exc).__name__})
        waiters = self._waiting.get(key)
        if waiters:
            waiters[min(waiters)].set()

    @asynccontextmanager
    async def try_hold(self, name: str) -> AsyncIterator[bool]:
        """Take a named lock without waiting; yields whether this process got it."""
        key = f"n:{name}"
        ticket = await self._run(self._queue.take_if_free, key, self._owner)
        try:
            yield ticket is not None
        finally:
            if ticket is not None:
                await self._release(key, ticket)


@asynccontextmanager
async def open_sqlite_lock(checkpoint_db: str | Path) -> AsyncIterator[SqliteTurnLock]:
    """The lock on the file next to `checkpoint_db`, closed on exit."""
    lock = SqliteTurnLock(lock_file_for(checkpoint_db))
    try:
        await lock.start()
        yield lock
    finally:
        await lock.aclose()
