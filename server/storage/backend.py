"""The checkpoint backend: SQLite by default, PostgreSQL when DATABASE_URL is set."""

import logging
import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from server.settings import Settings, SettingsError
from server.storage.health import StorageFault, StorageHealth
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
from server.storage.sqlite_saver import SqliteThread, ThreadedSqliteSaver
from server.storage.usage import PostgresUsageStore, SqliteUsageStore, UsageStore

log = logging.getLogger(__name__)

# What a checkpointer raises while its database is down or unreachable.
STORAGE_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
    sqlite3.OperationalError,
    psycopg.errors.ReadOnlySqlTransaction,
    StorageFault,
)
# Any other error of a database driver: the database refused what a turn wrote. Logged by type
# and SQLSTATE only: the driver's message may quote the row (user text, session ids).
STORAGE_REJECTED: tuple[type[BaseException], ...] = (psycopg.Error, sqlite3.Error)


class StorageSettingError(SettingsError):
    """CHECKPOINT_DB or DATABASE_URL cannot be used: one line naming it, exit code 3."""


@dataclass
class CheckpointBackend:
    """The saver plus what the service needs around it (readiness, kind)."""

    kind: Literal["sqlite", "postgres"]
    saver: BaseCheckpointSaver
    ops: StorageOps
    usage: UsageStore
    """Tokens and turns per company and day, in the same database."""
    pool: AsyncConnectionPool | None = None
    shared_lock: SharedLock | None = None
    health: StorageHealth | None = None
    sqlite: SqliteThread | None = None
    """SQLite: the saver's connection and thread (the webhook outbox writes through it too)."""

    async def ping(self) -> bool:
        """True when the database is writable (and, for SQLite, is still the file at its path)."""
        return True if self.health is None else await self.health.check()


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[CheckpointBackend]:
    """Open the configured backend (tables created at start-up) and close it on exit."""
    if settings.DATABASE_URL is not None:
        async with _open_postgres(settings) as backend:
            yield backend
        return
    path = Path(settings.CHECKPOINT_DB)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageSettingError(
            f"Invalid setting CHECKPOINT_DB: cannot create the folder {str(path.parent)!r} "
            f"({exc.strerror or type(exc).__name__})"
        ) from None
    async with _open_sqlite(path) as (db, saver), open_sqlite_lock(path) as turn_lock:
        health = StorageHealth(
            interval=settings.STORAGE_CHECK_INTERVAL, sqlite=db, sqlite_path=path
        )
        yield CheckpointBackend(
            kind="sqlite",
            saver=saver,
            ops=SqliteOps(db),
            usage=SqliteUsageStore(db),
            shared_lock=turn_lock,
            health=health,
            sqlite=db,
        )


@asynccontextmanager
async def _open_sqlite(path: Path) -> AsyncIterator[tuple[SqliteThread, ThreadedSqliteSaver]]:
    """The SQLite connection and its saver, tables set up; a file that cannot be used is one
    line."""
    try:
        db = await SqliteThread.open(path)
    except (sqlite3.Error, OSError) as exc:
        raise StorageSettingError(
            f"Invalid setting CHECKPOINT_DB: cannot open {str(path)!r} ({exc})"
        ) from None
    try:
        saver = ThreadedSqliteSaver(db)
        try:
            await saver.setup()
            await db.run(install_sqlite_pruning, db.conn)
            await SqliteUsageStore(db).setup()
        except sqlite3.Error as exc:
            raise StorageSettingError(
                f"Invalid setting CHECKPOINT_DB: cannot use {str(path)!r} as a SQLite database "
                f"({exc})"
            ) from None
        yield db, saver
    finally:
        await db.close()


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
    await _check_postgres(url, settings, kwargs)
    try:
        await pool.open(wait=True, timeout=15)
        await lock_pool.open(wait=True, timeout=15)
        saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]  # dict rows (kwargs row_factory)
        shared = PgSessionLock(lock_pool, wait)
        async with shared.exclusive("schema-setup"):  # workers starting together: one migrates
            await saver.setup()
            await install_postgres_pruning(pool)
            await PostgresUsageStore(pool).setup()
    except (psycopg.Error, PoolTimeout) as exc:
        await lock_pool.close()
        await pool.close()
        raise _postgres_error(settings, exc) from None
    try:
        Path(settings.CHECKPOINT_DB).parent.mkdir(parents=True, exist_ok=True)
        async with open_sqlite_lock(settings.CHECKPOINT_DB) as machine:  # arrival order
            yield CheckpointBackend(
                kind="postgres",
                saver=saver,
                ops=PostgresOps(pool),
                usage=PostgresUsageStore(pool),
                pool=pool,
                shared_lock=MachineThenShared(machine, shared),
                health=StorageHealth(interval=settings.STORAGE_CHECK_INTERVAL, pool=pool),
            )
    finally:
        await lock_pool.close()
        await pool.close()


async def _check_postgres(url: str, settings: Settings, kwargs: Mapping[str, Any]) -> None:
    """One direct connection first, so an unusable DATABASE_URL fails fast with its reason."""
    try:
        conn = await psycopg.AsyncConnection.connect(url, **kwargs)
    except psycopg.Error as exc:
        raise _postgres_error(settings, exc) from None
    await conn.close()


def _postgres_error(settings: Settings, exc: BaseException) -> StorageSettingError:
    """One line naming DATABASE_URL (password masked) and the first line of the reason."""
    reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return StorageSettingError(
        f"Invalid setting DATABASE_URL: cannot use {settings.masked_database_url()} "
        f"({reason or type(exc).__name__})"
    )
