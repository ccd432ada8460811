"""The SQLite turn lock: two holders on one file behave like two worker processes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from server.lifecycle.process_identity import process_owner
from server.storage.locks import SessionLockTimeout
from server.storage.sqlite_lock import SqliteTurnLock, lock_file_for, open_sqlite_lock

Pair = tuple[SqliteTurnLock, SqliteTurnLock]


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    """Two locks on one file, as two worker processes hold it."""
    async with AsyncExitStack() as stack:
        db = tmp_path / "checkpoints.sqlite"
        a = await stack.enter_async_context(open_sqlite_lock(db))
        b = await stack.enter_async_context(open_sqlite_lock(db))
        yield a, b


def _tickets(tmp_path: Path) -> int:
    with sqlite3.connect(lock_file_for(tmp_path / "checkpoints.sqlite")) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM turn_tickets").fetchone()[0])


def _last_ticket(tmp_path: Path) -> int:
    """The newest ticket number handed out so far (0 before any)."""
    with sqlite3.connect(lock_file_for(tmp_path / "checkpoints.sqlite")) as conn:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'turn_tickets'")
        found = row.fetchone()
        return int(found[0]) if found else 0


async def _settled(tmp_path: Path) -> int:
    """Tickets left once the releases under way are done (a turn does not wait for its own)."""
    for _ in range(100):
        if _tickets(tmp_path) == 0:
            return 0
        await asyncio.sleep(0.01)
    return _tickets(tmp_path)


def test_lock_file_sits_next_to_the_database() -> None:
    assert lock_file_for("data/checkpoints.sqlite") == Path("data/checkpoints.locks.sqlite")


async def test_one_session_is_held_by_one_holder_at_a_time(tmp_path: Path, pair: Pair) -> None:
    a, b = pair
    running, overlaps, order = 0, 0, []

    async def turn(lock: SqliteTurnLock, n: int) -> None:
        nonlocal running, overlaps
        async with lock.hold("s1", 10):
            running += 1
            overlaps += running > 1
            order.append(n)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(turn(a if n % 2 else b, n) for n in range(20)))
    assert overlaps == 0 and sorted(order) == list(range(20))
    assert await _settled(tmp_path) == 0


async def test_waiters_run_in_arrival_order_across_holders(tmp_path: Path, pair: Pair) -> None:
    a, b = pair
    order: list[int] = []

    async def turn(lock: SqliteTurnLock, n: int) -> None:
        async with lock.hold("s1", 10):
            order.append(n)
            await asyncio.sleep(0.03)

    tasks = []
    for n, lock in enumerate([a, a, b, a, b, b, a, b]):  # a later arrival elsewhere waits
        before = _last_ticket(tmp_path)
        tasks.append(asyncio.create_task(turn(lock, n)))
        for _ in range(400):  # arrival = the ticket taken (a loaded machine may delay it)
            if _last_ticket(tmp_path) > before:
                break
            await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    assert order == list(range(8))


async def test_other_sessions_do_not_wait(tmp_path: Path, pair: Pair) -> None:
    a, b = pair
    async with a.hold("s1", 10), b.hold("s2", 0.5):
        pass


async def test_a_busy_session_times_out_and_leaves_no_ticket(tmp_path: Path, pair: Pair) -> None:
    a, b = pair
    async with a.hold("s1", 10):
        with pytest.raises(SessionLockTimeout):
            async with b.hold("s1", 0.1):
                pass
        assert _tickets(tmp_path) == 1
    assert await _settled(tmp_path) == 0


@pytest.fixture
def dead_owner() -> str:
    """The owner tag of a process that has exited."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return process_owner(int(child.stdout))


async def test_the_ticket_of_a_dead_process_is_dropped(
    tmp_path: Path, pair: Pair, dead_owner: str
) -> None:
    a, _ = pair
    with sqlite3.connect(lock_file_for(tmp_path / "checkpoints.sqlite")) as conn:
        conn.execute("INSERT INTO turn_tickets (key, owner) VALUES ('s:s1', ?)", (dead_owner,))
    async with a.hold("s1", 1):
        assert _tickets(tmp_path) == 1  # only ours
    assert await _settled(tmp_path) == 0


async def test_a_named_lock_has_one_holder(tmp_path: Path, pair: Pair) -> None:
    a, b = pair
    async with a.try_hold("ttl-sweeper") as got_a, b.try_hold("ttl-sweeper") as got_b:
        assert (got_a, got_b) == (True, False)
    async with b.try_hold("ttl-sweeper") as again:
        assert again
    assert await _settled(tmp_path) == 0
