"""SQL the savers lack: latest checkpoint per session, pruning of older ones, bytes per session."""

import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from psycopg_pool import AsyncConnectionPool

from server.storage.sqlite_saver import SqliteThread

_UUID_EPOCH = 0x01B21DD213814000  # 100-ns intervals from 1582-10-15 to 1970-01-01


def checkpoint_time(checkpoint_id: str) -> float:
    """The Unix time a checkpoint was written, read from its UUIDv6 id."""
    value = uuid.UUID(checkpoint_id).int
    stamp = ((value >> 80) << 12) | ((value >> 64) & 0x0FFF)
    return (stamp - _UUID_EPOCH) / 1e7


def checkpoint_id_at(unix_time: float) -> str:
    """The smallest UUIDv6 checkpoint id of `unix_time`: ids written later compare greater (as
    text too: a UUIDv6's hex form starts with its time, most significant part first)."""
    stamp = max(0, int(unix_time * 1e7) + _UUID_EPOCH)
    value = ((stamp >> 12) << 80) | (0x6 << 76) | ((stamp & 0x0FFF) << 64)
    return str(uuid.UUID(int=value))


# Pruning: a new checkpoint removes the session's older ones (and their writes; on PostgreSQL also
# the blobs the new one does not reference) in the same transaction as its insert, so a session
# keeps exactly its latest checkpoint, with no extra round trip per turn.
SQLITE_PRUNE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS orquestador_prune AFTER INSERT ON checkpoints
BEGIN
    DELETE FROM checkpoints WHERE thread_id = NEW.thread_id
        AND checkpoint_ns = NEW.checkpoint_ns AND checkpoint_id < NEW.checkpoint_id;
    DELETE FROM writes WHERE thread_id = NEW.thread_id
        AND checkpoint_ns = NEW.checkpoint_ns AND checkpoint_id < NEW.checkpoint_id;
END;
"""
POSTGRES_PRUNE_TRIGGER = (
    """
CREATE OR REPLACE FUNCTION orquestador_prune() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM checkpoints WHERE thread_id = NEW.thread_id
        AND checkpoint_ns = NEW.checkpoint_ns AND checkpoint_id < NEW.checkpoint_id;
    DELETE FROM checkpoint_writes WHERE thread_id = NEW.thread_id
        AND checkpoint_ns = NEW.checkpoint_ns AND checkpoint_id < NEW.checkpoint_id;
    DELETE FROM checkpoint_blobs b WHERE b.thread_id = NEW.thread_id
        AND b.checkpoint_ns = NEW.checkpoint_ns
        AND (NEW.checkpoint -> 'channel_versions' ->> b.channel) IS DISTINCT FROM b.version;
    RETURN NULL;
END $$""",
    """CREATE OR REPLACE TRIGGER orquestador_prune AFTER INSERT ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION orquestador_prune()""",
)


def install_sqlite_pruning(conn: sqlite3.Connection) -> None:
    """Create the pruning trigger (idempotent; run on the connection's thread)."""
    conn.executescript(SQLITE_PRUNE_TRIGGER)
    conn.commit()


async def install_postgres_pruning(pool: AsyncConnectionPool) -> None:
    """Create the pruning function and trigger (idempotent; one instance at a time)."""
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('orquestador-ddl', 0))")
        for statement in POSTGRES_PRUNE_TRIGGER:
            await conn.execute(statement)


class StorageOps(Protocol):
    """Backend-specific queries over the saver's own tables."""

    async def latest_ids(self) -> dict[str, str]: ...
    async def latest_id(self, thread_id: str) -> str | None: ...
    async def thread_bytes(self, thread_id: str) -> tuple[int, int]: ...
    async def threads_ending(self, prefix: str, suffix: str, exact: str) -> list[str]: ...
    async def adopt(self, thread_id: str, bare: str, newer_than: str) -> bool: ...


# Adoption (SESSION_SCOPE=company): a conversation stored under its bare session id becomes the
# company's by renaming its rows, in one transaction, only while the company's thread has none of
# its own. Concurrent adopters of one bare thread (two companies, two instances) serialise on its
# checkpoint rows (locked first, in one order: no deadlock between the renames of its blobs and
# writes): the first renames them, the others then find none, so exactly one company gets it and
# nothing is ever copied. A bare conversation idle past the TTL (latest id below `newer_than`)
# is left for the sweeper.
BARE_EXISTS = "SELECT 1 FROM checkpoints WHERE thread_id = %(bare)s LIMIT 1"
LOCK_BARE = (
    "SELECT checkpoint_id FROM checkpoints WHERE thread_id = %(bare)s"
    " ORDER BY checkpoint_ns, checkpoint_id FOR UPDATE"
)
POSTGRES_ADOPT = """
WITH ok AS (
    SELECT NOT EXISTS (SELECT 1 FROM checkpoints WHERE thread_id = %(key)s)
       AND EXISTS (SELECT 1 FROM checkpoints WHERE thread_id = %(bare)s AND checkpoint_ns = ''
                   AND checkpoint_id >= %(newer)s) AS go
),
c AS (UPDATE checkpoints SET thread_id = %(key)s
      WHERE thread_id = %(bare)s AND (SELECT go FROM ok) RETURNING 1),
b AS (UPDATE checkpoint_blobs SET thread_id = %(key)s
      WHERE thread_id = %(bare)s AND (SELECT go FROM ok) RETURNING 1),
w AS (UPDATE checkpoint_writes SET thread_id = %(key)s
      WHERE thread_id = %(bare)s AND (SELECT go FROM ok) RETURNING 1)
SELECT (SELECT COUNT(*) FROM c) AS n
"""


class SqliteOps:
    """Queries over the SQLite saver's `checkpoints` and `writes` tables, on its thread."""

    def __init__(self, db: SqliteThread) -> None:
        self._db = db

    async def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self._db.run(lambda: self._db.conn.execute(query, params).fetchall())

    async def latest_ids(self) -> dict[str, str]:
        rows = await self._fetch(
            "SELECT thread_id, MAX(checkpoint_id) FROM checkpoints "
            "WHERE checkpoint_ns = '' GROUP BY thread_id"
        )
        return {row[0]: row[1] for row in rows}

    async def latest_id(self, thread_id: str) -> str | None:
        rows = await self._fetch(
            "SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''",
            (thread_id,),
        )
        return rows[0][0] if rows else None

    async def thread_bytes(self, thread_id: str) -> tuple[int, int]:
        """(bytes, checkpoint rows) stored for one session."""
        rows = await self._fetch(
            "SELECT (SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) "
            "FROM checkpoints WHERE thread_id = ?), "
            "(SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?), "
            "(SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?)",
            (thread_id, thread_id, thread_id),
        )
        size, count, writes = rows[0]
        return int(size) + int(writes), int(count)

    async def threads_ending(self, prefix: str, suffix: str, exact: str) -> list[str]:
        """Thread ids equal to `exact`, or starting with `prefix` and ending with `suffix`."""
        rows = await self._fetch(
            "SELECT DISTINCT thread_id FROM checkpoints WHERE thread_id = ? OR "
            "(substr(thread_id, 1, length(?)) = ? AND substr(thread_id, -length(?)) = ?)",
            (exact, prefix, prefix, suffix, suffix),
        )
        return [row[0] for row in rows]

    async def adopt(self, thread_id: str, bare: str, newer_than: str) -> bool:
        """Rename the bare thread's rows to `thread_id` when it has none (see SQLITE_ADOPT)."""
        params = {"key": thread_id, "bare": bare, "newer": newer_than}

        def run() -> bool:
            conn = self._db.conn
            conn.execute("BEGIN IMMEDIATE")  # one writer of the file at a time, processes too
            try:
                own = conn.execute(
                    "SELECT 1 FROM checkpoints WHERE thread_id = :key LIMIT 1", params
                ).fetchone()
                live = conn.execute(
                    "SELECT 1 FROM checkpoints WHERE thread_id = :bare AND checkpoint_ns = ''"
                    " AND checkpoint_id >= :newer LIMIT 1",
                    params,
                ).fetchone()
                if own is None and live is not None:
                    for table in ("checkpoints", "writes"):
                        conn.execute(
                            f"UPDATE {table} SET thread_id = :key WHERE thread_id = :bare", params
                        )
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            return own is None and live is not None

        return await self._db.run(run)


class PostgresOps:
    """Queries over AsyncPostgresSaver's checkpoints, checkpoint_blobs and checkpoint_writes."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def latest_ids(self) -> dict[str, str]:
        rows = await self._fetch(
            "SELECT thread_id, MAX(checkpoint_id) AS id FROM checkpoints "
            "WHERE checkpoint_ns = '' GROUP BY thread_id",
            (),
        )
        return {row["thread_id"]: row["id"] for row in rows}

    async def latest_id(self, thread_id: str) -> str | None:
        rows = await self._fetch(
            "SELECT MAX(checkpoint_id) AS id FROM checkpoints "
            "WHERE thread_id = %s AND checkpoint_ns = ''",
            (thread_id,),
        )
        return rows[0]["id"] if rows else None

    async def thread_bytes(self, thread_id: str) -> tuple[int, int]:
        rows = await self._fetch(
            "SELECT (SELECT COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)),"
            " 0) FROM checkpoints WHERE thread_id = %(t)s) AS c,"
            " (SELECT COUNT(*) FROM checkpoints WHERE thread_id = %(t)s) AS n,"
            " (SELECT COALESCE(SUM(LENGTH(blob)), 0) FROM checkpoint_blobs"
            "  WHERE thread_id = %(t)s) AS b,"
            " (SELECT COALESCE(SUM(LENGTH(blob)), 0) FROM checkpoint_writes"
            "  WHERE thread_id = %(t)s) AS w",
            {"t": thread_id},
        )
        row = rows[0]
        return int(row["c"]) + int(row["b"]) + int(row["w"]), int(row["n"])

    async def threads_ending(self, prefix: str, suffix: str, exact: str) -> list[str]:
        """Thread ids equal to `exact`, or starting with `prefix` and ending with `suffix`."""
        rows = await self._fetch(
            "SELECT DISTINCT thread_id FROM checkpoints WHERE thread_id = %(e)s OR "
            "(left(thread_id, length(%(p)s)) = %(p)s AND right(thread_id, length(%(s)s)) = %(s)s)",
            {"e": exact, "p": prefix, "s": suffix},
        )
        return [row["thread_id"] for row in rows]

    async def adopt(self, thread_id: str, bare: str, newer_than: str) -> bool:
        """Rename the bare thread's rows to `thread_id` when it has none: one read when there is
        no bare conversation (the usual case), else one transaction that first locks the bare
        checkpoints in a fixed order, so a concurrent adopter waits there, then finds them gone."""
        params = {"key": thread_id, "bare": bare, "newer": newer_than}
        if not await self._fetch(BARE_EXISTS, params):
            return False
        async with self._pool.connection() as conn, conn.transaction():
            locked = await (await conn.execute(LOCK_BARE, params)).fetchall()
            if not locked:  # another adopter took it while we waited
                return False
            row: Any = await (await conn.execute(POSTGRES_ADOPT, params)).fetchone()  # dict row
        return row is not None and int(row["n"]) > 0

    async def _fetch(self, query: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        async with self._pool.connection() as conn:
            return await (await conn.execute(query, params)).fetchall()
