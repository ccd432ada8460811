"""Per-session turn locks in this process: one turn at a time per session, forgotten when idle."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class SessionLockTimeout(TimeoutError):
    """The session stayed busy past the wait limit."""


class SessionLocks:
    """An asyncio.Lock per session id, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, session_id: str, timeout: float) -> AsyncIterator[None]:
        """Hold the session's lock (FIFO among waiters); SessionLockTimeout past `timeout`."""
        lock, users = self._locks.get(session_id, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[session_id] = (lock, users + 1)
        try:
            try:
                await asyncio.wait_for(lock.acquire(), timeout)
            except TimeoutError:
                raise SessionLockTimeout(session_id) from None
            try:
                yield
            finally:
                lock.release()
        finally:
            lock_now, users_now = self._locks[session_id]
            if users_now <= 1:
                del self._locks[session_id]
            else:
                self._locks[session_id] = (lock_now, users_now - 1)


class SharedLock(Protocol):
    """A lock that also holds across processes (a PostgreSQL advisory lock, a SQLite ticket)."""

    orders_arrivals: bool
    """True when waiters are served in arrival order across processes (no local lock first)."""

    def hold(self, session_id: str, timeout: float) -> AbstractAsyncContextManager[None]: ...

    def try_hold(self, name: str) -> AbstractAsyncContextManager[bool]: ...


class TurnLocks:
    """The in-process lock first (FIFO, no connection held while queued), then the shared one.

    A shared lock that serves arrivals in order itself (the SQLite ticket queue) is used alone:
    a local lock first would let a later arrival in another process overtake a local waiter.
    """

    def __init__(self, shared: SharedLock | None = None) -> None:
        self.local = SessionLocks()
        self._shared = shared

    @asynccontextmanager
    async def hold(self, session_id: str, timeout: float) -> AsyncIterator[None]:
        """Hold the session for one turn, waiting at most `timeout` in all."""
        deadline = time.monotonic() + timeout
        if self._shared is not None and self._shared.orders_arrivals:
            async with self._shared.hold(session_id, timeout):
                yield
            return
        async with self.local.hold(session_id, timeout):
            if self._shared is None:
                yield
                return
            async with self._shared.hold(session_id, max(0.001, deadline - time.monotonic())):
                yield


class MachineThenShared:
    """This machine's arrival-ordered lock first, then the lock shared by every host.

    With PostgreSQL the advisory lock alone would let a later message overtake an earlier one
    waiting in another worker; the machine's ticket queue (SQLite) keeps arrival order among
    the workers of one machine, and only the first of them waits on the database.
    """

    orders_arrivals = True

    def __init__(self, machine: SharedLock, shared: SharedLock) -> None:
        self._machine = machine
        self._shared = shared

    @asynccontextmanager
    async def hold(self, session_id: str, timeout: float) -> AsyncIterator[None]:
        """Hold the session on this machine, then everywhere, waiting at most `timeout` in all."""
        deadline = time.monotonic() + timeout
        async with (
            self._machine.hold(session_id, timeout),
            self._shared.hold(session_id, max(0.001, deadline - time.monotonic())),
        ):
            yield

    def try_hold(self, name: str) -> AbstractAsyncContextManager[bool]:
        """A named lock of every host (one TTL sweeper in the whole service)."""
        return self._shared.try_hold(name)
