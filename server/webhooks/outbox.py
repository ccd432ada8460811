"""The durable outbox: one table in the checkpoint database holding every asynchronous turn
from its acceptance until its event is delivered (or kept as failed).

A row's life: `accepted` (the 202 was sent; the turn runs in the process that owns the row and
renews its lease) → `ready` (the event's exact body written, numbered by `answer_seq` when the
turn answered; delivered by any worker that claims it with a lease) → `delivered`, or `failed`
after WEBHOOK_MAX_ATTEMPTS or a 4xx. Only the head of each conversation (its `ready` row with
the lowest `answer_seq`) can be claimed, so the events of one conversation are delivered one at
a time, in the order its turns answered. An `accepted` row whose lease ran out (its process
died) becomes an `event: "error"` asking the flow to send the message again. No key, config
or URL is ever written here.
"""

import json
import sqlite3
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from server.storage.own_tables import PostgresTable, SqliteTable, pg_sql, sqlite_rows
from server.storage.sqlite_saver import SqliteThread
from server.webhooks.payloads import RESTARTED, EventMeta, error_body

TABLE = "orquestador_outbox"
PENDING = "('accepted', 'ready')"

SQLITE_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL UNIQUE,
    conversation TEXT NOT NULL,
    id_empresa INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    state TEXT NOT NULL,
    event TEXT,
    message TEXT,
    body BLOB,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    lease_until REAL NOT NULL,
    owner TEXT,
    last_status INTEGER,
    last_error TEXT,
    answer_seq INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_ready ON {TABLE} (conversation, answer_seq) "
    "WHERE state = 'ready'",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_state ON {TABLE} (state, seq)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_answers ON {TABLE} (answer_seq)",
)
POSTGRES_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    seq bigserial PRIMARY KEY,
    delivery_id text NOT NULL UNIQUE,
    conversation text NOT NULL,
    id_empresa bigint NOT NULL,
    session_id text NOT NULL,
    request_id text NOT NULL,
    state text NOT NULL,
    event text,
    message text,
    body bytea,
    attempts integer NOT NULL DEFAULT 0,
    next_at double precision NOT NULL,
    lease_until double precision NOT NULL,
    owner text,
    last_status integer,
    last_error text,
    answer_seq bigint,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL)""",
    f"CREATE SEQUENCE IF NOT EXISTS {TABLE}_answer_seq",
    *SQLITE_DDL[1:],
)

HEADS = f"""SELECT o.delivery_id, o.id_empresa, o.request_id, o.body, o.attempts
FROM {TABLE} o
WHERE o.state = 'ready' AND o.lease_until <= :now AND o.next_at <= :now
  AND NOT EXISTS (SELECT 1 FROM {TABLE} p WHERE p.conversation = o.conversation
                  AND p.state = 'ready' AND p.answer_seq < o.answer_seq)
ORDER BY o.answer_seq LIMIT :limit"""
EXPIRED = f"""SELECT delivery_id, id_empresa, session_id, request_id, message FROM {TABLE}
WHERE state = 'accepted' AND lease_until <= :now ORDER BY seq LIMIT :limit"""
ANY_HEAD = f"""SELECT 1 FROM {TABLE} o
WHERE o.state IN {PENDING} AND o.lease_until <= :now AND o.next_at <= :now LIMIT 1"""
RECOVER = f"""UPDATE {TABLE} SET state = 'ready', event = 'error', body = :body, message = NULL,
    answer_seq = {{next_answer}}, next_at = :now, updated_at = :now
WHERE delivery_id = :delivery_id AND state = 'accepted'"""
CLAIM = f"""UPDATE {TABLE} SET lease_until = :lease, owner = :owner, attempts = attempts + 1,
    updated_at = :now WHERE delivery_id = :delivery_id"""
INSERT = f"""INSERT INTO {TABLE} (delivery_id, conversation, id_empresa, session_id, request_id,
    state, message, next_at, lease_until, owner, created_at, updated_at)
VALUES (:delivery_id, :conversation, :id_empresa, :session_id, :request_id, 'accepted',
    :message, :now, :lease, :owner, :now, :now)"""
COMPLETE = f"""UPDATE {TABLE} SET state = 'ready', event = :event, body = :body, message = NULL,
    answer_seq = {{next_answer}}, next_at = :now, lease_until = 0, updated_at = :now
WHERE delivery_id = :delivery_id AND state = 'accepted'"""
RENEW = f"""UPDATE {TABLE} SET lease_until = :lease
WHERE owner = :owner AND state = 'accepted' AND delivery_id IN ({{ids}})"""
DELIVERED = f"""UPDATE {TABLE} SET state = 'delivered', last_status = :status, last_error = NULL,
    lease_until = 0, updated_at = :now WHERE delivery_id = :delivery_id"""
RETRY_LATER = f"""UPDATE {TABLE} SET next_at = :next_at, last_status = :status,
    last_error = :error, lease_until = 0, updated_at = :now WHERE delivery_id = :delivery_id"""
FAILED = f"""UPDATE {TABLE} SET state = 'failed', last_status = :status, last_error = :error,
    lease_until = 0, updated_at = :now WHERE delivery_id = :delivery_id"""
RESEND = f"""UPDATE {TABLE} SET state = 'ready', attempts = 0, next_at = :now, lease_until = 0,
    last_error = NULL, updated_at = :now WHERE delivery_id = :delivery_id AND state = 'failed'"""
HURRY = f"""UPDATE {TABLE} SET next_at = :now
WHERE state = 'ready' AND attempts > 0 AND next_at > :now{{companies}}"""
LIST_FAILED = f"""SELECT delivery_id, id_empresa, session_id, request_id, event, attempts,
    last_status, last_error, created_at, updated_at
FROM {TABLE} WHERE state = 'failed' ORDER BY seq LIMIT :limit"""
ONE = f"""SELECT delivery_id, state, id_empresa, session_id, request_id, event, attempts,
    last_status, last_error, next_at, created_at, updated_at, body
FROM {TABLE} WHERE delivery_id = :delivery_id"""
BY_REQUEST = f"""SELECT delivery_id, state, id_empresa, session_id, request_id, event, attempts,
    last_status, last_error, next_at, created_at, updated_at, body
FROM {TABLE} WHERE request_id = :request_id ORDER BY seq DESC LIMIT 10"""
ENQUEUE = f"""INSERT INTO {TABLE} (delivery_id, conversation, id_empresa, session_id, request_id,
    state, event, body, answer_seq, next_at, lease_until, created_at, updated_at)
VALUES (:delivery_id, :conversation, :id_empresa, :session_id, :request_id, 'ready', :event,
    :body, {{next_answer}}, :now, 0, :now, :now)"""
STATS = f"""SELECT COUNT(*) AS backlog, MIN(created_at) AS oldest FROM {TABLE}
WHERE state IN {PENDING}"""
FAILED_COUNT = f"SELECT COUNT(*) AS failed FROM {TABLE} WHERE state = 'failed'"
PURGE = f"DELETE FROM {TABLE} WHERE state = 'delivered' AND updated_at < :before"


@dataclass(frozen=True)
class Accepted:
    """An asynchronous turn accepted with a 202: what its row holds (never a key or config)."""

    delivery_id: str
    request_id: str
    id_empresa: int
    session_id: str | int
    session_key: str
    message: str

    @property
    def conversation(self) -> str:
        """The ordering key: company and session id."""
        return f"{self.id_empresa}:{self.session_key}"

    @property
    def meta(self) -> EventMeta:
        return EventMeta(self.delivery_id, self.request_id, self.id_empresa, self.session_id)


@dataclass(frozen=True)
class Event:
    """An outbox row written ready: `body` is the exact bytes signed and sent."""

    delivery_id: str
    conversation: str
    """The ordering key: company and session id (as Accepted's)."""
    id_empresa: int
    session_id: str
    """JSON of the session id as the client sent it."""
    request_id: str
    event: str
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """A row this worker holds the lease of: deliver `body` to the company's URL."""

    delivery_id: str
    id_empresa: int
    request_id: str
    body: bytes
    attempts: int
    """Attempts including this one."""


@dataclass(frozen=True)
class Backlog:
    """Rows not yet delivered (accepted or ready), the oldest one's age, and failed rows."""

    size: int
    oldest_age: float
    failed: int


def _recovered(row: dict[str, Any]) -> bytes:
    """The error event of an accepted turn whose process died before it answered."""
    meta = EventMeta(
        row["delivery_id"], row["request_id"], row["id_empresa"], json.loads(row["session_id"])
    )
    return error_body(503, RESTARTED, row["message"], meta)


def _params(accepted: Accepted, now: float, lease: float, owner: str) -> dict[str, Any]:
    return {
        "delivery_id": accepted.delivery_id,
        "conversation": accepted.conversation,
        "id_empresa": accepted.id_empresa,
        "session_id": json.dumps(accepted.session_id),
        "request_id": accepted.request_id,
        "message": accepted.message,
        "now": now,
        "lease": lease,
        "owner": owner,
    }


def _row_view(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the admin endpoints show it (session id in its JSON type, body decoded)."""
    view = dict(row)
    view["session_id"] = json.loads(view["session_id"])
    if "body" in view:
        body = view.pop("body")
        view["body"] = json.loads(bytes(body)) if body is not None else None
    return view


class Outbox(ABC):
    """The outbox's operations; SQLite and PostgreSQL differ in how they run SQL and claim."""

    kind: str
    next_answer: str
    """SQL of the next answer number (the order replies of a conversation are delivered in)."""

    @abstractmethod
    async def _exec(self, sql: str, params: dict[str, Any]) -> int:
        """Run one statement (committed); the number of rows it changed."""

    @abstractmethod
    async def _fetch(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of one query, as dicts."""

    @abstractmethod
    async def claim(self, limit: int, lease: float, owner: str) -> list[Claimed]:
        """Lease up to `limit` due heads (expired accepted heads become error events first)."""

    async def accept(self, accepted: Accepted, lease: float, owner: str) -> None:
        await self._exec(INSERT, _params(accepted, time.time(), lease, owner))

    async def complete(self, delivery_id: str, event: str, body: bytes) -> bool:
        params = {"delivery_id": delivery_id, "event": event, "body": body, "now": time.time()}
        return await self._exec(COMPLETE.format(next_answer=self.next_answer), params) == 1

    async def enqueue(self, event: "Event") -> None:
        """Write an event that no turn waits for (a handoff's start or end), ready to deliver
        after the conversation's earlier events."""
        params = {**event.__dict__, "now": time.time()}
        await self._exec(ENQUEUE.format(next_answer=self.next_answer), params)

    async def renew(self, ids: list[str], lease: float, owner: str) -> None:
        names = {f"id{i}": value for i, value in enumerate(ids)}
        sql = RENEW.format(ids=", ".join(f":{name}" for name in names))
        await self._exec(sql, {"lease": lease, "owner": owner, **names})

    async def delivered(self, delivery_id: str, status: int) -> None:
        params = {"delivery_id": delivery_id, "status": status, "now": time.time()}
        await self._exec(DELIVERED, params)

    async def retry_later(
        self, delivery_id: str, next_at: float, status: int | None, error: str
    ) -> None:
        params = {
            "delivery_id": delivery_id,
            "next_at": next_at,
            "status": status,
            "error": error,
            "now": time.time(),
        }
        await self._exec(RETRY_LATER, params)

    async def failed(self, delivery_id: str, status: int | None, error: str) -> None:
        params = {"delivery_id": delivery_id, "status": status, "error": error, "now": time.time()}
        await self._exec(FAILED, params)

    async def resend(self, delivery_id: str) -> bool:
        return await self._exec(RESEND, {"delivery_id": delivery_id, "now": time.time()}) == 1

    async def hurry(self, include: list[int] | None, exclude: list[int]) -> int:
        """End the backoff of rows waiting to retry for these companies (their receiver just
        answered 2xx); returns how many."""
        sql, params = _hurry(include, exclude)
        return await self._exec(sql, params)

    async def list_failed(self, limit: int) -> list[dict[str, Any]]:
        return [_row_view(row) for row in await self._fetch(LIST_FAILED, {"limit": limit})]

    async def get(self, delivery_id: str) -> dict[str, Any] | None:
        rows = await self._fetch(ONE, {"delivery_id": delivery_id})
        return _row_view(rows[0]) if rows else None

    async def by_request(self, request_id: str) -> list[dict[str, Any]]:
        return [_row_view(row) for row in await self._fetch(BY_REQUEST, {"request_id": request_id})]

    async def backlog(self) -> Backlog:
        stats = (await self._fetch(STATS, {}))[0]
        failed = (await self._fetch(FAILED_COUNT, {}))[0]["failed"]
        return _backlog(stats, failed)

    async def purge(self, before: float) -> int:
        return await self._exec(PURGE, {"before": before})


class SqliteOutbox(SqliteTable, Outbox):
    """The outbox in the SQLite checkpoint file, on the saver's connection and thread (no lock
    contention with the checkpoints within a process).

    A claim is one `BEGIN IMMEDIATE` transaction (SQLite's single writer: two processes never
    claim the same row); an idle poll is a read, no write lock taken."""

    kind = "sqlite"
    next_answer = f"(SELECT COALESCE(MAX(answer_seq), 0) + 1 FROM {TABLE})"

    @classmethod
    async def setup(cls, db: SqliteThread) -> "SqliteOutbox":
        """Create the table in the checkpoint file and return the outbox."""
        await SqliteTable.create(db, SQLITE_DDL)
        return cls(db)

    async def claim(self, limit: int, lease: float, owner: str) -> list[Claimed]:
        def run() -> list[Claimed]:
            conn = self._db.conn
            now = time.time()
            if conn.execute(ANY_HEAD, {"now": now}).fetchone() is None:
                return []  # idle: a read only, no write lock taken
            conn.execute("BEGIN IMMEDIATE")
            try:
                claimed = _claim_rows(conn, limit, lease, owner, time.time())
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            return claimed

        return await self._db.run(run)


def _claim_rows(
    conn: sqlite3.Connection, limit: int, lease: float, owner: str, now: float
) -> list[Claimed]:
    """Inside the claim transaction: expired accepted rows become error events, then the due
    heads are leased."""
    recover = RECOVER.format(next_answer=SqliteOutbox.next_answer)
    for row in sqlite_rows(conn, EXPIRED, {"now": now, "limit": limit}):
        conn.execute(recover, {"body": _recovered(row), "now": now, **row})
    claimed = []
    for row in sqlite_rows(conn, HEADS, {"now": now, "limit": limit}):
        conn.execute(CLAIM, {"lease": lease, "owner": owner, "now": now, **row})
        claimed.append(_claimed(row))
    return claimed


def _hurry(include: list[int] | None, exclude: list[int]) -> tuple[str, dict[str, Any]]:
    """The HURRY statement for the companies `include` (None: all) minus `exclude`."""
    params: dict[str, Any] = {"now": time.time()}
    clause = ""
    for name, ids, op in (("in", include, "IN"), ("ex", exclude, "NOT IN")):
        if ids is None or (op == "NOT IN" and not ids):
            continue
        names = {f"{name}{i}": value for i, value in enumerate(ids)} or {f"{name}0": -1}
        params.update(names)
        clause += f" AND id_empresa {op} ({', '.join(':' + n for n in names)})"
    return HURRY.format(companies=clause), params


def _claimed(row: dict[str, Any]) -> Claimed:
    return Claimed(
        delivery_id=row["delivery_id"],
        id_empresa=row["id_empresa"],
        request_id=row["request_id"],
        body=bytes(row["body"]),
        attempts=row["attempts"] + 1,
    )


def _backlog(stats: dict[str, Any], failed: int) -> Backlog:
    oldest = stats["oldest"]
    age = max(0.0, time.time() - oldest) if oldest is not None else 0.0
    return Backlog(size=int(stats["backlog"]), oldest_age=age, failed=int(failed))


class PostgresOutbox(PostgresTable, Outbox):
    """The outbox in the PostgreSQL checkpoint database, over the checkpoints' pool.

    A claim selects the heads `FOR UPDATE OF o SKIP LOCKED` and leases them in the same
    transaction: instances and workers claiming at once never get the same row."""

    kind = "postgres"
    next_answer = f"nextval('{TABLE}_answer_seq')"

    @classmethod
    async def setup(cls, pool: AsyncConnectionPool) -> "PostgresOutbox":
        """Create the table (one instance at a time) and return the outbox."""
        await PostgresTable.create(pool, POSTGRES_DDL)
        return cls(pool)

    async def claim(self, limit: int, lease: float, owner: str) -> list[Claimed]:
        now = time.time()
        if not await self._fetch(ANY_HEAD, {"now": now}):
            return []
        claimed = []
        recover = pg_sql(RECOVER.format(next_answer=self.next_answer))
        async with self._pool.connection() as conn, conn.transaction():
            now = time.time()
            params = {"now": now, "limit": limit}
            cursor = await conn.execute(pg_sql(EXPIRED + " FOR UPDATE SKIP LOCKED"), params)
            for row in [dict(r) for r in await cursor.fetchall()]:
                await conn.execute(recover, {"body": _recovered(row), "now": now, **row})
            cursor = await conn.execute(pg_sql(HEADS + " FOR UPDATE OF o SKIP LOCKED"), params)
            for row in [dict(r) for r in await cursor.fetchall()]:
                await conn.execute(
                    pg_sql(CLAIM), {"lease": lease, "owner": owner, "now": now, **row}
                )
                claimed.append(_claimed(row))
        return claimed
