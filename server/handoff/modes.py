"""The human-mode flag of each conversation: one table in the checkpoint database, keyed by
company and session id, so every worker and instance sees the same mode.

A row exists while a person holds (or is awaited by) the conversation; giving it back deletes
the row. Every change is one statement; ending is conditional on the row's `since`, so when two
instances end the same handoff at once (a timeout seen by two turns, or the sweep) only one of
them reports it.
"""

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from server.storage.own_tables import PostgresTable, SqliteTable
from server.storage.sqlite_saver import SqliteThread

TABLE = "orquestador_conversation_mode"

SQLITE_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    id_empresa INTEGER NOT NULL,
    session_key TEXT NOT NULL,
    session_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    reason TEXT NOT NULL,
    since REAL NOT NULL,
    last_customer_message TEXT,
    last_customer_at REAL,
    last_author TEXT,
    last_person_at REAL,
    PRIMARY KEY (id_empresa, session_key))""",
)
POSTGRES_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    id_empresa bigint NOT NULL,
    session_key text NOT NULL,
    session_id text NOT NULL,
    mode text NOT NULL,
    reason text NOT NULL,
    since double precision NOT NULL,
    last_customer_message text,
    last_customer_at double precision,
    last_author text,
    last_person_at double precision,
    PRIMARY KEY (id_empresa, session_key))""",
)
COLUMNS = """id_empresa, session_key, session_id, reason, since, last_customer_message,
    last_customer_at, last_author, last_person_at"""
GET = f"SELECT {COLUMNS} FROM {TABLE} WHERE id_empresa = :id_empresa AND session_key = :key"
START = f"""INSERT INTO {TABLE} (id_empresa, session_key, session_id, mode, reason, since)
VALUES (:id_empresa, :key, :session_id, 'human', :reason, :now) ON CONFLICT DO NOTHING"""
END = f"""DELETE FROM {TABLE}
WHERE id_empresa = :id_empresa AND session_key = :key AND since = :since"""
CUSTOMER = f"""UPDATE {TABLE} SET last_customer_message = :text, last_customer_at = :now,
    session_id = :session_id WHERE id_empresa = :id_empresa AND session_key = :key"""
PERSON = f"""UPDATE {TABLE} SET last_author = :author, last_person_at = :now
WHERE id_empresa = :id_empresa AND session_key = :key"""
LIST = f"SELECT {COLUMNS} FROM {TABLE} ORDER BY since LIMIT :limit"
EXPIRED = f"""SELECT {COLUMNS} FROM {TABLE}
WHERE COALESCE(last_person_at, since) < :before ORDER BY since LIMIT :limit"""
COUNT = f"SELECT COUNT(*) AS n FROM {TABLE}"


@dataclass(frozen=True)
class HumanMode:
    """A conversation held by (or waiting for) a person."""

    id_empresa: int
    session_key: str
    session_id: str
    """The session id as the client sent it, JSON-encoded (an integer stays an integer)."""
    reason: str
    """Why it started: `escalation` or `operator`."""
    since: float
    last_customer_message: str | None
    last_customer_at: float | None
    last_author: str | None
    """The person who wrote last (None: no person has written yet)."""
    last_person_at: float | None

    def idle_since(self) -> float:
        """When the person last wrote (or the handoff started): the timeout counts from here."""
        return self.last_person_at if self.last_person_at is not None else self.since


def _mode(row: dict[str, Any]) -> HumanMode:
    return HumanMode(**row)


class ModeStore(ABC):
    """The table's operations; SQLite and PostgreSQL differ only in how SQL is run."""

    kind: str

    @abstractmethod
    async def _exec(self, sql: str, params: dict[str, Any]) -> int:
        """Run one statement (committed); the number of rows it changed."""

    @abstractmethod
    async def _fetch(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of one query, as dicts."""

    async def get(self, company: int, key: str) -> HumanMode | None:
        """The conversation's human mode, None when the bot answers it."""
        rows = await self._fetch(GET, {"id_empresa": company, "key": key})
        return _mode(rows[0]) if rows else None

    async def start(self, company: int, key: str, session_id: str, reason: str) -> bool:
        """Put the conversation in human mode; False when it already was."""
        params = {
            "id_empresa": company,
            "key": key,
            "session_id": session_id,
            "reason": reason,
            "now": time.time(),
        }
        return await self._exec(START, params) == 1

    async def end(self, mode: HumanMode) -> bool:
        """Give this handoff back to the bot; False when someone else already did."""
        params = {"id_empresa": mode.id_empresa, "key": mode.session_key, "since": mode.since}
        return await self._exec(END, params) == 1

    async def customer(self, company: int, key: str, session_id: str, text: str) -> None:
        """Note the customer's latest message (shown by GET /sessions?mode=human) and the
        session id in the JSON type the client sends it (an operator's path gives text)."""
        params = {
            "id_empresa": company,
            "key": key,
            "session_id": session_id,
            "text": text,
            "now": time.time(),
        }
        await self._exec(CUSTOMER, params)

    async def person(self, company: int, key: str, author: str) -> bool:
        """Note that a person wrote (the timeout starts again); False when not in human mode."""
        params = {"id_empresa": company, "key": key, "author": author, "now": time.time()}
        return await self._exec(PERSON, params) == 1

    async def held(self, limit: int) -> list[HumanMode]:
        """Conversations in human mode, the longest waiting first."""
        return [_mode(row) for row in await self._fetch(LIST, {"limit": limit})]

    async def expired(self, before: float, limit: int) -> list[HumanMode]:
        """Handoffs whose person has not written since `before`."""
        return [
            _mode(row) for row in await self._fetch(EXPIRED, {"before": before, "limit": limit})
        ]

    async def count(self) -> int:
        """Conversations in human mode, all instances."""
        return int((await self._fetch(COUNT, {}))[0]["n"])


class SqliteModes(SqliteTable, ModeStore):
    """The table in the SQLite checkpoint file, on the saver's connection and thread."""

    kind = "sqlite"

    @classmethod
    async def setup(cls, db: SqliteThread) -> "SqliteModes":
        """Create the table (idempotent) and return the store."""
        await SqliteTable.create(db, SQLITE_DDL)
        return cls(db)


class PostgresModes(PostgresTable, ModeStore):
    """The table in the PostgreSQL checkpoint database, over the checkpoints' pool."""

    kind = "postgres"

    @classmethod
    async def setup(cls, pool: AsyncConnectionPool) -> "PostgresModes":
        """Create the table (one instance at a time) and return the store."""
        await PostgresTable.create(pool, POSTGRES_DDL)
        return cls(pool)
