"""Usage per company and day in the checkpoints' database: one atomic upsert per turn, reads for
GET /usage and the budgets."""

import sqlite3
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import date
from typing import Any, Protocol, cast

from psycopg_pool import AsyncConnectionPool

from server.storage.sqlite_saver import SqliteThread

TABLE = "orquestador_usage"
NO_COMPANY = 0
"""`id_empresa` of turns without a company (ids are > 0)."""

COLUMNS = (
    "id_empresa",
    "day",
    "key",
    "model",
    "action",
    "agent",
    "turns",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "budget_exceeded",
)
KEY_COLUMNS = COLUMNS[:6]
SUMMED = COLUMNS[6:]

SQLITE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id_empresa INTEGER NOT NULL, day TEXT NOT NULL, key TEXT NOT NULL, model TEXT NOT NULL,
    action TEXT NOT NULL, agent TEXT NOT NULL,
    turns INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
    budget_exceeded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (id_empresa, day, key, model, action, agent)
)"""
POSTGRES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id_empresa BIGINT NOT NULL, day DATE NOT NULL, key TEXT NOT NULL, model TEXT NOT NULL,
    action TEXT NOT NULL, agent TEXT NOT NULL,
    turns BIGINT NOT NULL DEFAULT 0, input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_exceeded BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (id_empresa, day, key, model, action, agent)
)"""
_UPDATE = ", ".join(f"{c} = {TABLE}.{c} + excluded.{c}" for c in SUMMED)
_CONFLICT = f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET {_UPDATE}"
_SELECT = (
    f"SELECT id_empresa, CAST(day AS TEXT) AS day, key, model, action, agent, "
    f"{', '.join(f'SUM({c}) AS {c}' for c in SUMMED)} FROM {TABLE} "
)
_GROUP = f"GROUP BY {', '.join(KEY_COLUMNS)} ORDER BY day, id_empresa, key, model, action, agent"


@dataclass(frozen=True)
class UsageRow:
    """One stored row: what a company spent one day on one key, model, action and agent."""

    id_empresa: int
    day: str
    key: str
    """`company` (its own model key), `server` (OPENAI_API_KEY) or `agent` (an agent's own)."""
    model: str
    action: str
    agent: str
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    budget_exceeded: int = 0


class UsageStore(Protocol):
    """Usage rows in the checkpoints' database."""

    async def add(self, rows: Sequence[UsageRow]) -> None:
        """Add these counts (one statement, atomic with any other worker or instance)."""
        ...

    async def rows(self, first: date, last: date, id_empresa: int | None) -> list[UsageRow]:
        """The rows of the days first..last (inclusive), of one company or all."""
        ...

    async def server_tokens_since(self, first: date) -> dict[int, int]:
        """Tokens spent on the server's key since `first`, per company."""
        ...


def _row(values: Sequence[Any]) -> UsageRow:
    head = [int(values[0]), *(str(v) for v in values[1:6])]
    tail = [int(values[6]), int(values[7]), int(values[8]), float(values[9]), int(values[10])]
    return UsageRow(*head, *tail)  # type: ignore[arg-type]


class SqliteUsageStore:
    """The usage table in the SQLite checkpoint file, used on the checkpointer's thread."""

    def __init__(self, db: SqliteThread) -> None:
        self._db = db

    async def setup(self) -> None:
        """Create the table (idempotent)."""
        await self._db.run(self._setup)

    def _setup(self) -> None:
        self._db.conn.execute(SQLITE_SCHEMA)
        self._db.conn.commit()

    async def add(self, rows: Sequence[UsageRow]) -> None:
        if rows:
            await self._db.run(self._add, rows)

    def _add(self, rows: Sequence[UsageRow]) -> None:
        marks = "(" + ", ".join("?" * len(COLUMNS)) + ")"
        values = [v for row in rows for v in astuple(row)]
        sql = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES "
        sql += ", ".join([marks] * len(rows)) + " " + _CONFLICT
        conn = self._db.conn
        try:
            conn.execute(sql, values)
            conn.commit()
        except sqlite3.Error:
            conn.rollback()
            raise

    async def rows(self, first: date, last: date, id_empresa: int | None) -> list[UsageRow]:
        where = "WHERE day >= ? AND day <= ? "
        params: list[Any] = [first.isoformat(), last.isoformat()]
        if id_empresa is not None:
            where += "AND id_empresa = ? "
            params.append(id_empresa)
        query = _SELECT + where + _GROUP
        found = await self._db.run(lambda: self._db.conn.execute(query, params).fetchall())
        return [_row(values) for values in found]

    async def server_tokens_since(self, first: date) -> dict[int, int]:
        query = (
            f"SELECT id_empresa, SUM(input_tokens + output_tokens) FROM {TABLE} "
            "WHERE key = 'server' AND day >= ? GROUP BY id_empresa"
        )
        found = await self._db.run(
            lambda: self._db.conn.execute(query, (first.isoformat(),)).fetchall()
        )
        return {int(company): int(tokens) for company, tokens in found}


class PostgresUsageStore:
    """The usage table in the PostgreSQL database of the checkpoints."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def setup(self) -> None:
        """Create the table (idempotent; run under the instances' schema-setup lock)."""
        async with self._pool.connection() as conn:
            await conn.execute(POSTGRES_SCHEMA)

    async def add(self, rows: Sequence[UsageRow]) -> None:
        if not rows:
            return
        marks = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
        values = [v for row in rows for v in astuple(row)]
        sql = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES "
        sql += ", ".join([marks] * len(rows)) + " " + _CONFLICT
        # Counters, not conversations: the commit does not wait for the WAL flush (~5 ms here);
        # a PostgreSQL crash (not a restart) may lose the last fraction of a second of counts.
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SET LOCAL synchronous_commit TO OFF")
            await conn.execute(sql, values)

    async def rows(self, first: date, last: date, id_empresa: int | None) -> list[UsageRow]:
        where = "WHERE day >= %(first)s AND day <= %(last)s "
        params: dict[str, Any] = {"first": first, "last": last}
        if id_empresa is not None:
            where += "AND id_empresa = %(company)s "
            params["company"] = id_empresa
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_SELECT + where + _GROUP, params)
            found = await cursor.fetchall()
        return [
            _row(list(values.values()) if isinstance(values, dict) else values) for values in found
        ]

    async def server_tokens_since(self, first: date) -> dict[int, int]:
        query = (
            f"SELECT id_empresa, SUM(input_tokens + output_tokens) AS tokens FROM {TABLE} "
            "WHERE key = 'server' AND day >= %s GROUP BY id_empresa"
        )
        async with self._pool.connection() as conn:
            found = await (await conn.execute(query, (first,))).fetchall()
        return {
            int(row["id_empresa"]): int(row["tokens"]) for row in cast(list[dict[str, Any]], found)
        }
