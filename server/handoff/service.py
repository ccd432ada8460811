"""Human handoff: who holds a conversation (the bot or a person), read once per turn when
HANDOFF_ENABLED; the transitions, their events and metrics; the sweep of expired handoffs."""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from graph.turn import TurnRunner
from server.handoff.events import handoff_event
from server.handoff.modes import HumanMode, ModeStore, PostgresModes, SqliteModes
from server.observability.metrics import Metrics
from server.settings import Settings
from server.storage.backend import CheckpointBackend
from server.turn.session_ids import session_ref
from server.webhooks.outbox import Outbox

log = logging.getLogger(__name__)

SWEEP_BATCH = 500


class Handoff:
    """The handoff operations of one app (built only when HANDOFF_ENABLED)."""

    def __init__(
        self,
        store: ModeStore,
        turns: TurnRunner,
        metrics: Metrics,
        timeout: float,
        outbox: Outbox | None = None,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self._turns = turns
        self._metrics = metrics
        self._timeout = timeout
        self._outbox = outbox
        self._wake = wake

    async def holding(self, company: int, key: str) -> HumanMode | None:
        """The conversation's human mode, None when the bot answers it; a handoff whose person
        has been silent past HANDOFF_TIMEOUT_SECONDS is ended here (reason `timeout`)."""
        mode = await self.store.get(company, key)
        if mode is None:
            return None
        if time.time() - mode.idle_since() > self._timeout:
            await self._end(mode, "timeout")
            return None
        return mode

    async def store_customer(
        self, company: int, key: str, session_id: str | int, message: str, *, thread: str
    ) -> None:
        """Store the customer's message for the person in conversation `thread` (the checkpoint
        thread the turn would run in): no router, agent or model call."""
        await self._turns.store_customer(thread, [message])
        await self.store.customer(company, key, json.dumps(session_id), message)

    async def start(self, company: int, key: str, session_id: str | int, reason: str) -> bool:
        """Hand the conversation to a person; False when a person already holds it."""
        if not await self.store.start(company, key, json.dumps(session_id), reason):
            return False
        self._metrics.handoff_started(reason)
        log.info(
            "handoff started",
            extra={"session": session_ref(key), "id_empresa": company, "handoff_reason": reason},
        )
        mode = await self.store.get(company, key)
        if mode is not None:
            await self._emit("handoff_started", mode, reason)
        await self.refresh_gauge()
        return True

    async def resume(self, company: int, key: str) -> bool:
        """Give the conversation back to the bot; False when no person held it."""
        mode = await self.store.get(company, key)
        return mode is not None and await self._end(mode, "resume")

    async def person(self, company: int, key: str, text: str, author: str, *, thread: str) -> bool:
        """Store a person's message to the customer in conversation `thread` (the caller holds
        its lock); False when it is not in human mode (or its handoff just timed out)."""
        if await self.holding(company, key) is None:
            return False
        await self._turns.store_person(thread, text, author)
        await self.store.person(company, key, author)
        return True

    async def sweep(self) -> int:
        """End every handoff whose person has been silent past the timeout; returns how many."""
        ended = 0
        for mode in await self.store.expired(time.time() - self._timeout, SWEEP_BATCH):
            ended += await self._end(mode, "timeout")
        await self.refresh_gauge()
        return ended

    async def run_sweeper(self, interval: float) -> None:
        """Sweep forever (every instance may: ending is conditional, each end reported once)."""
        while True:
            try:
                ended = await self.sweep()
                if ended:
                    log.info("handoffs timed out", extra={"count": ended})
            except Exception as exc:  # the next sweep tries again
                log.warning("handoff sweep failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(interval)

    async def refresh_gauge(self) -> None:
        """Read the conversations in human mode (all instances) into the gauge."""
        self._metrics.humans(await self.store.count())

    async def _end(self, mode: HumanMode, reason: str) -> bool:
        if not await self.store.end(mode):
            return False  # another worker or instance ended it first and reported it
        seconds = max(0.0, time.time() - mode.since)
        self._metrics.handoff_ended(reason, seconds)
        log.info(
            "handoff ended",
            extra={
                "session": session_ref(mode.session_key),
                "id_empresa": mode.id_empresa,
                "handoff_reason": reason,
            },
        )
        await self._emit("handoff_ended", mode, reason)
        await self.refresh_gauge()
        return True

    async def _emit(self, name: str, mode: HumanMode, reason: str) -> None:
        """Write the event to the outbox when a webhook is configured."""
        if self._outbox is None:
            return
        await self._outbox.enqueue(handoff_event(name, mode, reason, time.time()))
        if self._wake is not None:
            self._wake()


async def open_modes(backend: CheckpointBackend) -> ModeStore:
    """The human-mode table in the checkpoint database (created if missing)."""
    if backend.pool is not None:
        return await PostgresModes.setup(backend.pool)
    assert backend.sqlite is not None
    return await SqliteModes.setup(backend.sqlite)


@asynccontextmanager
async def open_handoff(
    settings: Settings,
    backend: CheckpointBackend,
    turns: TurnRunner,
    metrics: Metrics,
    outbox: Outbox | None,
    wake: Callable[[], None] | None,
) -> AsyncIterator[Handoff | None]:
    """The handoff service and its sweep when HANDOFF_ENABLED, else None (nothing per turn)."""
    if not settings.HANDOFF_ENABLED:
        yield None
        return
    handoff = Handoff(
        await open_modes(backend),
        turns,
        metrics,
        settings.HANDOFF_TIMEOUT_SECONDS,
        outbox,
        wake,
    )
    interval = min(settings.SESSION_SWEEP_INTERVAL, settings.HANDOFF_TIMEOUT_SECONDS)
    sweeper = asyncio.create_task(handoff.run_sweeper(interval), name="handoff-sweeper")
    try:
        yield handoff
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
