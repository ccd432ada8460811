"""The webhook objects of one app: the outbox (same database as the checkpoints), the
asynchronous turns and the delivery worker, opened and closed with the app's lifespan."""

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx

from server.observability.metrics import Metrics
from server.settings import Settings
from server.storage.backend import CheckpointBackend
from server.webhooks.async_turns import AsyncTurns
from server.webhooks.delivery import DeliveryWorker
from server.webhooks.outbox import Outbox, PostgresOutbox, SqliteOutbox

log = logging.getLogger(__name__)


@dataclass
class Webhooks:
    """What the chat route and the admin endpoints use."""

    outbox: Outbox
    turns: AsyncTurns
    worker: DeliveryWorker


def instance_owner() -> str:
    """This process's name on the rows it leases (host, pid and a random part)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def open_outbox(backend: CheckpointBackend) -> AsyncIterator[Outbox]:
    """The outbox table in the checkpoint database (created if missing)."""
    if backend.pool is not None:
        yield await PostgresOutbox.setup(backend.pool)
    else:
        assert backend.sqlite is not None
        yield await SqliteOutbox.setup(backend.sqlite)


@asynccontextmanager
async def open_webhooks(
    settings: Settings, metrics: Metrics, backend: CheckpointBackend, stopping: Callable[[], bool]
) -> AsyncIterator[Webhooks | None]:
    """The outbox, turns and a running worker when a reply webhook is configured, else None.

    On exit the worker and the lease heartbeat stop; undelivered rows stay for the next start."""
    if not settings.webhooks_configured:
        yield None
        return
    async with AsyncExitStack() as stack:
        outbox = await stack.enter_async_context(open_outbox(backend))
        http = await stack.enter_async_context(httpx.AsyncClient())
        owner = instance_owner()
        worker = DeliveryWorker(outbox, settings, metrics, http, owner, stopping)
        turns = AsyncTurns(outbox, metrics, owner, settings.WEBHOOK_LEASE_SECONDS, worker.wake)
        tasks = [
            asyncio.create_task(worker.run(), name="webhook-worker"),
            asyncio.create_task(turns.heartbeat(), name="webhook-leases"),
        ]

        async def stop() -> None:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        stack.push_async_callback(stop)
        log.info("reply webhooks on", extra={"outbox": outbox.kind, "owner": owner})
        yield Webhooks(outbox=outbox, turns=turns, worker=worker)
