"""Real PostgreSQL and Redis for tests: a throwaway database and a claimed Redis db number."""

from __future__ import annotations

import getpass
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
DB_PREFIX = "maravia_test_"


class ServiceUnavailable(RuntimeError):
    """A backing service the tests need is not running."""


def _pg_admin() -> tuple[psycopg.Connection[tuple[Any, ...]], str]:
    import psycopg

    errors = []
    for user in dict.fromkeys(("postgres", getpass.getuser())):
        try:
            conn = psycopg.connect(
                host=PG_HOST,
                port=PG_PORT,
                user=user,
                dbname="postgres",
                connect_timeout=3,
                autocommit=True,
            )
            return conn, user
        except psycopg.Error as e:
            errors.append(f"  as {user!r}: {str(e).strip()}")
    raise ServiceUnavailable(
        f"PostgreSQL at {PG_HOST}:{PG_PORT} is not usable (the tests need it; "
        "`.ci/run` starts it):\n" + "\n".join(errors)
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def temporary_database() -> Iterator[str]:
    """Create a uniquely named database, yield its DSN, drop it (and leftovers of dead runs)."""
    conn, user = _pg_admin()
    name = f"{DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with conn:
        query = "SELECT datname FROM pg_database WHERE datname LIKE %s"
        for (old,) in conn.execute(query, (DB_PREFIX + "%",)).fetchall():
            pid = old[len(DB_PREFIX) :].split("_")[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                conn.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        conn, _ = _pg_admin()
        with conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def claimed_redis_db() -> Iterator[str]:
    """Claim a free Redis db number (1..15), flush it, yield its URL, flush and release it."""
    import redis

    admin = redis.Redis(
        host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2, socket_timeout=5
    )
    try:
        admin.ping()
    except redis.RedisError as e:
        raise ServiceUnavailable(
            f"Redis at {REDIS_HOST}:{REDIS_PORT} is not reachable ({e}); the tests need it "
            "(`.ci/run` starts it)."
        ) from e
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    for n in range(15, 0, -1):
        if admin.set(f"maravia:test-db-claim:{n}", token, nx=True, ex=6 * 3600):
            break
    else:
        raise ServiceUnavailable("no free Redis db number (1..15): all claimed by other runs")
    db = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=n)
    try:
        db.flushdb()
    except redis.RedisError as e:
        msg = f"Redis db {n} is not usable ({e}); is `databases` below 16?"
        raise ServiceUnavailable(msg) from e
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{n}"
    finally:
        db.flushdb()
        if admin.get(f"maravia:test-db-claim:{n}") == token.encode():
            admin.delete(f"maravia:test-db-claim:{n}")
        db.close()
        admin.close()
