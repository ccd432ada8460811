"""A per-session PostgreSQL advisory lock: turns of one session never overlap across instances."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool

from server.storage.locks import SessionLockTimeout

log = logging.getLogger(__name__)


class PgSessionLock:
    """Holds `pg_advisory_lock(hash(session_id))` on a dedicated connection for a turn."""

    orders_arrivals = False  # waiters queue on the in-process lock first (no connection held)

    def __init__(self, pool: AsyncConnectionPool, checkout_timeout: float) -> None:
        self._pool = pool
        self._checkout_timeout = checkout_timeout

    @asynccontextmanager
    async def hold(self, session_id: str, timeout: float) -> AsyncIterator[None]:
        """Wait up to `timeout` for the session's lock; SessionLockTimeout past it.

        No connection within the checkout timeout raises PoolTimeout: the database is down
        (or saturated), which the caller answers as a storage outage, not a busy session.
        """
        async with self._pool.connection(timeout=min(timeout, self._checkout_timeout)) as conn:
            await self._acquire(conn, session_id, timeout)
            try:
                yield
            finally:
                await self._release(conn, session_id)

    @staticmethod
    async def _acquire(conn: psycopg.AsyncConnection, session_id: str, timeout: float) -> None:
        await conn.execute(f"SET lock_timeout = {max(1, int(timeout * 1000))}")
        try:
            await conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (session_id,))
        except psycopg.errors.LockNotAvailable:
            raise SessionLockTimeout(session_id) from None
        finally:
            await conn.execute("SET lock_timeout = 0")

    @staticmethod
    async def _release(conn: psycopg.AsyncConnection, session_id: str) -> None:
        try:
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (session_id,))
        except Exception:  # never hand a lock-holding connection back
            log.warning("advisory unlock failed; dropping the connection")
            await conn.close()

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Hold a named lock, waiting as long as it takes (start-up DDL, one process at a time).

        Waits by polling, never inside a statement: the holder's migrations include
        CREATE INDEX CONCURRENTLY, which waits for every open transaction, a blocked
        pg_advisory_lock included (an undetected deadlock).
        """
        async with self._pool.connection(timeout=self._checkout_timeout) as conn:
            while not await self._try_named(conn, name):
                await asyncio.sleep(0.05)
            try:
                yield
            finally:
                await self._release_named(conn, name)

    @staticmethod
    async def _try_named(conn: psycopg.AsyncConnection, name: str) -> bool:
        row = await (
            await conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 1)) AS ok", (name,)
            )
        ).fetchone()
        return bool(row and (row["ok"] if isinstance(row, dict) else row[0]))

    @staticmethod
    async def _release_named(conn: psycopg.AsyncConnection, name: str) -> None:
        try:
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 1))", (name,))
        except Exception:  # never hand a lock-holding connection back
            await conn.close()

    @asynccontextmanager
    async def try_hold(self, name: str) -> AsyncIterator[bool]:
        """Try a named lock without waiting; yields whether this process got it."""
        async with self._pool.connection(timeout=5) as conn:
            got = await self._try_named(conn, name)
            try:
                yield got
            finally:
                if got:
                    await self._release_named(conn, name)
