"""Tables of our own beside the checkpoints (outbox, handoff modes): the SQL helpers they share."""

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from psycopg_pool import AsyncConnectionPool

from server.storage.sqlite_saver import SqliteThread

_NAMED = re.compile(r":([a-z_][a-z0-9_]*)")


def pg_sql(sql: str) -> str:
    """`:name` parameters (the SQLite spelling our statements use) as psycopg's `%(name)s`."""
    return _NAMED.sub(r"%(\1)s", sql)


def sqlite_rows(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows as dicts (the saver's connection keeps its own row factory)."""
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class SqliteTable:
    """A table in the SQLite checkpoint file, used on the saver's connection and thread."""

    def __init__(self, db: SqliteThread) -> None:
        self._db = db

    @staticmethod
    async def create(db: SqliteThread, ddl: Sequence[str]) -> None:
        """Run the table's DDL (idempotent statements) and commit."""

        def create() -> None:
            for statement in ddl:
                db.conn.execute(statement)
            db.conn.commit()

        await db.run(create)

    async def _exec(self, sql: str, params: dict[str, Any]) -> int:
        def run() -> int:
            conn = self._db.conn
            try:
                count = conn.execute(sql, params).rowcount
                conn.commit()
            except BaseException:
                conn.rollback()  # never leave the saver's connection inside a transaction
                raise
            return count

        return await self._db.run(run)

    async def _fetch(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            return sqlite_rows(self._db.conn, sql, params)

        return await self._db.run(run)


class PostgresTable:
    """A table in the PostgreSQL checkpoint database, used over the checkpoints' pool."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @staticmethod
    async def create(pool: AsyncConnectionPool, ddl: Sequence[str]) -> None:
        """Run the table's DDL, one instance at a time (a transaction-scoped advisory lock)."""
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('orquestador-ddl', 0))"
            )
            for statement in ddl:
                await conn.execute(statement)

    async def _exec(self, sql: str, params: dict[str, Any]) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(pg_sql(sql), params)
            return cursor.rowcount

    async def _fetch(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(pg_sql(sql), params)
            return [dict(row) for row in await cursor.fetchall()]
