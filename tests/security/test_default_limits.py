"""The default limits let one n8n server through: 300 messages a minute over 100 sessions, with
bursts of 10 double-texted messages to one session, over real HTTP, and no 429."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from harness.orchestrator import StartApp, chat_body
from server.settings import Settings

SESSIONS = 100
BURST_SESSIONS = 10
BURST = 10
SPREAD_PER_SESSION = 2  # 100 x 2 spread + 10 x 10 burst = 300 messages


def default(name: str) -> Any:
    return Settings.model_fields[name].default


async def test_one_n8n_server_is_never_throttled_by_the_defaults(
    start_app: StartApp, tmp_path: Path
) -> None:
    # one minute's traffic sent as fast as it goes: inside one moving window, a stricter test
    # of the per-minute rule than the same 300 messages spread over 60 s
    app = start_app(
        LLM_MODE="offline",
        RATE_LIMIT_PER_MINUTE=default("RATE_LIMIT_PER_MINUTE"),
        SESSION_RATE_LIMIT_PER_MINUTE=default("SESSION_RATE_LIMIT_PER_MINUTE"),
        COMPANY_RATE_LIMIT_PER_MINUTE=default("COMPANY_RATE_LIMIT_PER_MINUTE"),  # 300: one company
        SESSION_LOCK_TIMEOUT=default("SESSION_LOCK_TIMEOUT"),
        MAX_HISTORY_TURNS=50,  # keep every stored turn countable below
    )
    assert app.settings.API_KEYS == []  # keys off: every request shares the n8n server's IP
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=BURST * 2)
    async with httpx.AsyncClient(base_url=app.url, timeout=120, limits=limits) as client:

        async def send(session: str, text: str) -> None:
            r = await client.post("/api/agent/chat", json=chat_body(text, session))
            statuses.append(r.status_code)

        async def spread(first: int) -> None:  # a steady stream over many sessions
            for round_ in range(SPREAD_PER_SESSION):
                for n in range(first, SESSIONS, 4):
                    await send(f"n8n-{n}", f"hola, mensaje {round_}")

        async def burst(n: int) -> None:  # a customer double-texting: 10 messages at once
            await asyncio.gather(*(send(f"n8n-{n}", f"hola otra vez {i}") for i in range(BURST)))

        await asyncio.gather(
            *(spread(first) for first in range(4)), *(burst(n) for n in range(BURST_SESSIONS))
        )
    assert len(statuses) == SESSIONS * SPREAD_PER_SESSION + BURST_SESSIONS * BURST == 300
    assert statuses.count(200) == 300, {s: statuses.count(s) for s in set(statuses)}
    assert app.metrics()["rate_limited"] == 0
    # double-texted messages were queued by the session lock, none dropped: every turn stored
    stored = app.client.get("/memory/stats").json()["sessions"]
    assert len(stored) == SESSIONS
    for n in range(SESSIONS):
        expected = SPREAD_PER_SESSION + (BURST if n < BURST_SESSIONS else 0)
        assert stored[f"n8n-{n}"] == expected, (n, stored[f"n8n-{n}"])
