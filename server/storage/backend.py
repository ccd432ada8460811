"""The checkpoint backend: SQLite by default, PostgreSQL when DATABASE_URL is set."""

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiosqlite
import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from server.settings import Settings
from server.storage.locks import MachineThenShared, SharedLock
from server.storage.ops import (
    PostgresOps,
    SqliteOps,
    StorageOps,
    install_postgres_pruning,
    install_sqlite_pruning,
)
from server.storage.pg_lock import PgSessionLock
from server.storage.sqlite_lock import open_sqlite_lock

log = logging.getLogger(__name__)

# What a checkpointer raises while its database is down or unreachable.
STORAGE_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
    sqlite3.OperationalError,
)


@dataclass
class CheckpointBackend:
    """The saver plus what the service needs around it (readiness, kind)."""

    kind: Literal["sqlite", "postgres"]
    saver: BaseCheckpointSaver
    ops: StorageOps
    sqlite: aiosqlite.Connection | None = None
    pool: AsyncConnectionPool | None = None
    shared_lock: SharedLock | None = None

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            if self.pool is not None:
                async with self.pool.connection(timeout=2) as conn:
                    await conn.execute("SELECT 1")
            elif self.sqlite is not None:
                async with self.sqlite.execute("SELECT 1") as cursor:
                    await cursor.fetchone()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            log.warning("checkpointer not answering", extra={"error": type(exc).__name__})
            return False
        return True


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[CheckpointBackend]:
    """Open the configured backend (tables created at start-up) and close it on exit."""
    if settings.DATABASE_URL is not None:
        async with _open_postgres(settings) as backend:
            yield backend
        return
    path = Path(settings.CHECKPOINT_DB)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as conn, open_sqlite_lock(path) as turn_lock:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        await install_sqlite_pruning(conn)
        yield CheckpointBackend(
            kind="sqlite",
            saver=saver,
            ops=SqliteOps(conn, saver.lock),
            sqlite=conn,
            shared_lock=turn_lock,
        )


@asynccontextmanager
async def _open_postgres(settings: Settings) -> AsyncIterator[CheckpointBackend]:
    assert settings.DATABASE_URL is not None
    url = settings.DATABASE_URL.get_secret_value()
    kwargs = {
        "autocommit": True,
        "prepare_threshold": None,
        "row_factory": dict_row,
        "connect_timeout": max(1, int(settings.DATABASE_POOL_TIMEOUT)),
    }
    wait = settings.DATABASE_POOL_TIMEOUT
    pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=settings.DATABASE_POOL_SIZE,
        open=False,
        timeout=wait,
        kwargs=kwargs,
        check=AsyncConnectionPool.check_connection,
        name="checkpoints",
    )
    # Advisory locks live on their own connections, so waiting turns never starve the saver.
    lock_pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=settings.DATABASE_LOCK_POOL_SIZE,
        open=False,
        timeout=wait,
        kwargs=kwargs,
        check=AsyncConnectionPool.check_connection,
        name="locks",
    )
    await pool.open(wait=True, timeout=15)
    await lock_pool.open(wait=True, timeout=15)
    Path(settings.CHECKPOINT_DB).parent.mkdir(parents=True, exist_ok=True)
    try:
        saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
        shared = PgSessionLock(lock_pool, wait)
        async with shared.exclusive("schema-setup"):  # workers starting together: one migrates
            await saver.setup()
            await install_postgres_pruning(pool)
        async with open_sqlite_lock(settings.CHECKPOINT_DB) as machine:  # arrival order
            yield CheckpointBackend(
                kind="postgres",
                saver=saver,
                ops=PostgresOps(pool),
                pool=pool,
                shared_lock=MachineThenShared(machine, shared),
            )
    finally:
        await lock_pool.close()
        await pool.close()
