"""The burst buffer on a real SQLite file and a real PostgreSQL schema: joins, claims, a turn in
flight, stale claims, and many messages from two connections each claimed exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from server.storage.burst_buffer import BurstBuffer, Claim, open_burst_buffer

STALE = 60.0


@asynccontextmanager
async def opened(kind: str, tmp_path: Path, pg_url: str | None) -> AsyncIterator[BurstBuffer]:
    """One buffer (its own connection or pool) on the backend `kind`."""
    async with AsyncExitStack() as stack:
        pool = None
        if kind == "postgres":
            assert pg_url is not None
            kwargs = {"autocommit": True, "row_factory": dict_row, "prepare_threshold": None}
            pool = AsyncConnectionPool(pg_url, min_size=1, max_size=4, open=False, kwargs=kwargs)
            await pool.open(wait=True)
            stack.push_async_callback(pool.close)
        yield await stack.enter_async_context(open_burst_buffer(pool, tmp_path / "c.sqlite"))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "sqlite":
        return "sqlite", None
    return "postgres", request.getfixturevalue("pg_url")


async def test_join_claim_in_flight_and_release(
    backend: tuple[str, str | None], tmp_path: Path
) -> None:
    kind, url = backend
    async with opened(kind, tmp_path, url) as buffer:
        a, joined_a = await buffer.add("s1", "ra", "hola")
        b, joined_b = await buffer.add("s1", "rb", "quiero comprar")
        other, _ = await buffer.add("s2", "rx", "otra conversación")
        assert (joined_a, joined_b) == (False, True)
        state = await buffer.state(a)
        assert state is not None and state.merged_into == "rb"
        assert await buffer.claim("s1", a, "ra", STALE) == Claim(merged_into="rb")
        assert await buffer.claim("s1", b, "rb", STALE) == Claim(
            messages=["hola", "quiero comprar"]
        )
        # a message after the claim starts the next burst, which waits for the turn in flight
        c, joined_c = await buffer.add("s1", "rc", "talla 42")
        assert joined_c is False
        assert await buffer.claim("s1", c, "rc", STALE) == Claim(busy=True)
        assert await buffer.claim("s1", c, "rc", 0.0) == Claim(messages=["talla 42"])  # stale
        await buffer.release("rb")
        await buffer.release("rc")
        assert await buffer.state(a) is None and await buffer.state(c) is None
        assert await buffer.claim("s2", other, "rx", STALE) == Claim(messages=["otra conversación"])


async def test_two_connections_each_message_claimed_once(
    backend: tuple[str, str | None], tmp_path: Path
) -> None:
    kind, url = backend
    async with opened(kind, tmp_path, url) as one, opened(kind, tmp_path, url) as two:
        sent = [f"m{n}" for n in range(30)]
        added = await asyncio.gather(
            *((one if n % 2 else two).add("s1", f"r{n}", text) for n, text in enumerate(sent))
        )
        claims = await asyncio.gather(
            *(
                (two if n % 2 else one).claim("s1", seq, f"r{n}", STALE)
                for n, (seq, _) in enumerate(added)
            )
        )
        turns = [claim.messages for claim in claims if claim.messages is not None]
        assert len(turns) == 1  # only the newest message's request claims
        newest = max(range(len(added)), key=lambda n: added[n][0])
        assert claims[newest].messages is not None
        order = sorted(range(len(added)), key=lambda n: added[n][0])
        assert turns[0] == [sent[n] for n in order]  # every message once, in arrival order
        assert sum(1 for claim in claims if claim.merged_into) == len(sent) - 1


async def test_a_turn_that_never_ran_gives_the_merged_messages_back(
    backend: tuple[str, str | None], tmp_path: Path
) -> None:
    kind, url = backend
    async with opened(kind, tmp_path, url) as buffer:
        await buffer.add("s1", "ra", "hola")
        b, _ = await buffer.add("s1", "rb", "quiero comprar")
        assert await buffer.claim("s1", b, "rb", STALE) == Claim(
            messages=["hola", "quiero comprar"]
        )
        await buffer.requeue("rb", b)  # its request was answered 409/503: its message dropped
        c, _ = await buffer.add("s1", "rc", "quiero comprar")  # the customer sends it again
        assert await buffer.claim("s1", c, "rc", STALE) == Claim(
            messages=["hola", "quiero comprar"]  # the merged one is answered now, nothing twice
        )
