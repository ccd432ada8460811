"""SQL the savers lack: latest checkpoint per session, pruning of older ones, bytes per session."""

import json
import uuid
from collections.abc import Iterable
from typing import Protocol

import aiosqlite
from psycopg_pool import AsyncConnectionPool

_UUID_EPOCH = 0x01B21DD213814000  # 100-ns intervals from 1582-10-15 to 1970-01-01


def checkpoint_time(checkpoint_id: str) -> float:
    """The Unix time a checkpoint was written, read from its UUIDv6 id."""
    value = uuid.UUID(checkpoint_id).int
    stamp = ((value >> 80) << 12) | ((value >> 64) & 0x0FFF)
    return (stamp - _UUID_EPOCH) / 1e7


class StorageOps(Protocol):
    """Backend-specific queries over the saver's own tables."""

    async def latest_ids(self) -> dict[str, str]: ...
    async def latest_id(self, thread_id: str) -> str | None: ...
    async def prune(self, thread_id: str) -> None: ...
    async def thread_bytes(self, thread_id: str) -> tuple[int, int]: ...


class SqliteOps:
    """Queries over AsyncSqliteSaver's `checkpoints` and `writes` tables."""

    def __init__(self, conn: aiosqlite.Connection, lock: object) -> None:
        self._conn = conn
        self._lock = lock  # the saver's asyncio.Lock: one statement batch at a time

    async def latest_ids(self) -> dict[str, str]:
        async with self._lock, self._conn.execute(  # type: ignore[attr-defined]
                "SELECT thread_id, MAX(checkpoint_id) FROM checkpoints "
                "WHERE checkpoint_ns = '' GROUP BY thread_id") as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}

    async def latest_id(self, thread_id: str) -> str | None:
        async with self._lock, self._conn.execute(  # type: ignore[attr-defined]
                "SELECT MAX(checkpoint_id) FROM checkpoints "
                "WHERE thread_id = ? AND checkpoint_ns = ''", (thread_id,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def prune(self, thread_id: str) -> None:
        async with self._lock:  # type: ignore[attr-defined]
            keep = "(SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? " \
                   "AND checkpoint_ns = '')"
            await self._conn.execute(
                f"DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id < {keep}",
                (thread_id, thread_id))
            await self._conn.execute(
                f"DELETE FROM writes WHERE thread_id = ? AND checkpoint_id < {keep}",
                (thread_id, thread_id))
            await self._conn.commit()

    async def thread_bytes(self, thread_id: str) -> tuple[int, int]:
        """(bytes, checkpoint rows) stored for one session."""
        async with self._lock, self._conn.execute(  # type: ignore[attr-defined]
                "SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0), COUNT(*) "
                "FROM checkpoints WHERE thread_id = ?", (thread_id,)) as cur:
            size, rows = await cur.fetchone() or (0, 0)
        async with self._lock, self._conn.execute(  # type: ignore[attr-defined]
                "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?",
                (thread_id,)) as cur:
            (writes,) = await cur.fetchone() or (0,)
        return int(size) + int(writes), int(rows)


class PostgresOps:
    """Queries over AsyncPostgresSaver's checkpoints, checkpoint_blobs and checkpoint_writes."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def latest_ids(self) -> dict[str, str]:
        rows = await self._fetch("SELECT thread_id, MAX(checkpoint_id) AS id FROM checkpoints "
                                 "WHERE checkpoint_ns = '' GROUP BY thread_id", ())
        return {row["thread_id"]: row["id"] for row in rows}

    async def latest_id(self, thread_id: str) -> str | None:
        rows = await self._fetch("SELECT MAX(checkpoint_id) AS id FROM checkpoints "
                                 "WHERE thread_id = %s AND checkpoint_ns = ''", (thread_id,))
        return rows[0]["id"] if rows else None

    async def prune(self, thread_id: str) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(
                "SELECT checkpoint_id, checkpoint->'channel_versions' AS versions "
                "FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = '' "
                "ORDER BY checkpoint_id DESC LIMIT 1", (thread_id,))).fetchone()
            if row is None:
                return
            keep = row["checkpoint_id"]
            await conn.execute("DELETE FROM checkpoints WHERE thread_id = %s "
                               "AND checkpoint_id < %s", (thread_id, keep))
            await conn.execute("DELETE FROM checkpoint_writes WHERE thread_id = %s "
                               "AND checkpoint_id < %s", (thread_id, keep))
            await conn.execute(
                "DELETE FROM checkpoint_blobs b WHERE b.thread_id = %s AND b.checkpoint_ns = '' "
                "AND (%s::jsonb ->> b.channel) IS DISTINCT FROM b.version",
                (thread_id, json.dumps(row["versions"] or {})))

    async def thread_bytes(self, thread_id: str) -> tuple[int, int]:
        rows = await self._fetch(
            "SELECT (SELECT COALESCE(SUM(pg_column_size(checkpoint) + pg_column_size(metadata)),"
            " 0) FROM checkpoints WHERE thread_id = %(t)s) AS c,"
            " (SELECT COUNT(*) FROM checkpoints WHERE thread_id = %(t)s) AS n,"
            " (SELECT COALESCE(SUM(LENGTH(blob)), 0) FROM checkpoint_blobs"
            "  WHERE thread_id = %(t)s) AS b,"
            " (SELECT COALESCE(SUM(LENGTH(blob)), 0) FROM checkpoint_writes"
            "  WHERE thread_id = %(t)s) AS w", {"t": thread_id})
        row = rows[0]
        return int(row["c"]) + int(row["b"]) + int(row["w"]), int(row["n"])

    async def _fetch(self, query: str, params: Iterable[object] | dict[str, object]) -> list:
        async with self._pool.connection() as conn:
            return await (await conn.execute(query, params)).fetchall()  # type: ignore[arg-type]

