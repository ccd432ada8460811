"""SQLite helpers: one short-lived connection per operation, WAL mode, explicit transactions."""

from __future__ import annotations

import secrets
import sqlite3
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are opened explicitly)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


@contextmanager
def transaction(path: str) -> Iterator[sqlite3.Connection]:
    """A write transaction (BEGIN IMMEDIATE): committed on success, rolled back on any error."""
    conn = connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


@contextmanager
def reading(path: str) -> Iterator[sqlite3.Connection]:
    """A connection for reads only."""
    conn = connect(path)
    try:
        yield conn
    finally:
        conn.close()


def init_db(
    path: str, schema: str, seed: Callable[[sqlite3.Connection], None], seeded_table: str
) -> None:
    """Create the file and schema (WAL mode) and seed it when `seeded_table` is empty."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(schema)
    finally:
        conn.close()
    with transaction(path) as tx:
        if tx.execute(f"SELECT COUNT(*) FROM {seeded_table}").fetchone()[0] == 0:
            seed(tx)


def timestamp() -> str:
    """Current time as ISO-8601 with offset, for created/updated columns."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def new_code(conn: sqlite3.Connection, table: str, prefix: str) -> str:
    """An unused code in `table.codigo`: prefix, two letters, three digits (e.g. RKM482)."""
    letters = "".join(c for c in string.ascii_uppercase if c not in "IO")
    while True:
        code = (
            prefix
            + "".join(secrets.choice(letters) for _ in range(2))
            + "".join(secrets.choice(string.digits) for _ in range(3))
        )
        if not conn.execute(f"SELECT 1 FROM {table} WHERE codigo = ?", (code,)).fetchone():
            return code
