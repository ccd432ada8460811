"""Storage health: a rate-limited write probe and, for SQLite, that the open file is at its path."""

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from server.storage.sqlite_saver import SqliteThread

log = logging.getLogger(__name__)

SQLITE_PROBE = (
    "CREATE TABLE IF NOT EXISTS orquestador_health (id INTEGER PRIMARY KEY, checked_at REAL)",
    "INSERT OR REPLACE INTO orquestador_health (id, checked_at) VALUES (1, ?)",
)
POSTGRES_TABLE = (
    "CREATE TABLE IF NOT EXISTS orquestador_health "
    "(id integer PRIMARY KEY, checked_at double precision NOT NULL)"
)
POSTGRES_PROBE = (
    "INSERT INTO orquestador_health (id, checked_at) VALUES (1, %s) "
    "ON CONFLICT (id) DO UPDATE SET checked_at = EXCLUDED.checked_at"
)


class StorageFault(Exception):
    """The conversation storage cannot be trusted with a write (answered as 503)."""


@dataclass(frozen=True)
class FileIdentity:
    """Which file a path named when the database was opened (device and inode)."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> "FileIdentity | None":
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return cls(stat.st_dev, stat.st_ino)


class StorageHealth:
    """Readiness of the conversation storage; a change of state is logged once."""

    def __init__(
        self,
        *,
        interval: float,
        sqlite: SqliteThread | None = None,
        sqlite_path: Path | None = None,
        pool: AsyncConnectionPool | None = None,
    ) -> None:
        self._interval = interval
        self._sqlite, self._path = sqlite, sqlite_path
        self._opened = FileIdentity.of(sqlite_path) if sqlite_path is not None else None
        self._pool = pool
        self._pg_table = False
        self._last_ok = -float("inf")
        self._healthy = True

    def file_replaced(self) -> bool:
        """True when the SQLite file opened at start-up is no longer the file at its path."""
        if self._path is None:
            return False
        return FileIdentity.of(self._path) != self._opened

    def require_file(self) -> None:
        """Raise StorageFault instead of letting a turn write into a deleted or replaced file."""
        if self.file_replaced():
            self._report(False, "sqlite file deleted or replaced")
            raise StorageFault("the SQLite file is no longer at its path")

    async def check(self) -> bool:
        """True when the storage can be written (after a success, no new probe for `interval` s)."""
        if self.file_replaced():
            return self._report(False, "sqlite file deleted or replaced")
        now = time.monotonic()
        if now - self._last_ok < self._interval:  # a success is trusted for `interval` seconds
            return self._report(True, None)
        reason = await self._probe()
        if reason is not None:
            return self._report(False, reason)
        self._last_ok = now
        return self._report(True, None)

    async def _probe(self) -> str | None:
        """One cheap write; None when it worked, else the error's type name."""
        try:
            if self._pool is not None:
                await self._probe_postgres(self._pool)
            elif self._sqlite is not None:
                await self._probe_sqlite(self._sqlite)
        except Exception as exc:  # any failure means "cannot write"
            return type(exc).__name__
        return None

    async def _probe_sqlite(self, db: SqliteThread) -> None:
        def probe() -> None:
            try:
                db.conn.execute(SQLITE_PROBE[0])
                db.conn.execute(SQLITE_PROBE[1], (time.time(),))
                db.conn.commit()
            except Exception:
                db.conn.rollback()  # never leave the saver's connection inside a transaction
                raise

        await db.run(probe)

    async def _probe_postgres(self, pool: AsyncConnectionPool) -> None:
        async with pool.connection(timeout=2) as conn:
            if not self._pg_table:
                async with conn.transaction():
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtextextended('orquestador-ddl', 0))"
                    )
                    await conn.execute(POSTGRES_TABLE)
                self._pg_table = True
            await conn.execute(POSTGRES_PROBE, (time.time(),))

    def _report(self, healthy: bool, reason: str | None) -> bool:
        if healthy != self._healthy:
            self._healthy = healthy
            if healthy:
                log.info("conversation storage writable again")
            else:
                log.error("conversation storage cannot be written", extra={"reason": reason})
        return healthy
