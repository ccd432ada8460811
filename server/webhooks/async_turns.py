"""Asynchronous turns (`Prefer: respond-async`): write the accepted turn to the outbox, answer
202, run the turn as a synchronous one would, and write its event for delivery.

The company's key and the client's config are needed to run the turn and are never stored: they
stay in this process's memory (the task's closure). If the process dies before the turn
answered, the row's lease runs out and the flow receives `event: "error"` asking it to send the
message again (see README, "Replies by webhook")."""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from server.errors import STORAGE_DOWN, ApiError
from server.lifecycle.shutdown import SHUTTING_DOWN
from server.observability.metrics import Metrics
from server.observability.request_ids import current_request_id
from server.schemas import ChatRequest, ChatResponse, MergedResponse
from server.storage.backend import STORAGE_ERRORS
from server.webhooks.outbox import Accepted, Outbox
from server.webhooks.payloads import error_body, reply_body

log = logging.getLogger(__name__)

NO_WEBHOOK = (
    "Las respuestas asíncronas (Prefer: respond-async) no están configuradas: "
    "define REPLY_WEBHOOK_URL (o REPLY_WEBHOOK_URLS para esta empresa)"
)
COMPLETE_RETRIES = (0.5, 1.0, 2.0, 4.0)
"""Waits between attempts to write a finished turn's event while the storage is down."""

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class AsyncTurns:
    """Accepts asynchronous turns and runs them; each conversation's turns one after another."""

    def __init__(
        self,
        outbox: Outbox,
        metrics: Metrics,
        owner: str,
        lease: float,
        wake: Callable[[], None],
    ) -> None:
        self._outbox = outbox
        self._metrics = metrics
        self._owner = owner
        self._lease = lease
        self._wake = wake
        self._running: set[str] = set()
        """Delivery ids of accepted rows whose turn runs in this process (their leases renewed)."""
        self._tails: dict[str, asyncio.Task[None]] = {}
        """Per conversation, the last turn accepted here: the next one starts after it."""

    @property
    def running(self) -> int:
        """Asynchronous turns accepted by this process and not answered yet."""
        return len(self._running)

    async def accept(
        self,
        request: ChatRequest,
        run: Callable[[], Awaitable[ChatResponse | MergedResponse]],
        spawn: Spawn,
        *,
        chained: bool = True,
    ) -> Accepted:
        """Write the accepted turn (a 503 when the storage cannot), then start it in the
        background; the caller answers 202. `chained`: it starts after this process's previous
        turn of the conversation (not with DOUBLE_TEXTING=merge: a burst's messages must wait
        together, and its buffer keeps their order)."""
        accepted = Accepted(
            delivery_id=uuid.uuid4().hex,
            request_id=current_request_id.get() or uuid.uuid4().hex,
            id_empresa=request.company,
            session_id=request.session_id,
            session_key=request.session_key,
            message=request.message,
        )
        try:
            await self._outbox.accept(accepted, time.time() + self._lease, self._owner)
        except STORAGE_ERRORS as exc:
            log.warning("webhook outbox unavailable", extra={"error": type(exc).__name__})
            raise ApiError(503, STORAGE_DOWN) from None
        self._running.add(accepted.delivery_id)
        conversation = accepted.conversation
        previous = self._tails.get(conversation) if chained else None
        task = spawn(self._run(accepted, run, previous))
        self._tails[conversation] = task
        task.add_done_callback(lambda done: self._forget(conversation, done))
        self._metrics.async_turn_accepted()
        return accepted

    def _forget(self, conversation: str, task: "asyncio.Task[None]") -> None:
        if self._tails.get(conversation) is task:
            del self._tails[conversation]
        if not task.cancelled():
            task.exception()  # a turn cut by the shutdown: its error event is already written

    async def _run(
        self,
        accepted: Accepted,
        run: Callable[[], Awaitable[ChatResponse | MergedResponse]],
        previous: "asyncio.Task[None] | None",
    ) -> None:
        """Run the turn after the conversation's previous one; write its event either way."""
        meta = accepted.meta
        try:
            if previous is not None:
                await asyncio.wait({previous})
            response = await run()
            event, body = "reply", reply_body(response.model_dump(), meta)
        except ApiError as exc:  # 409 busy, 503 storage, 500: the flow is told, not left waiting
            event = "error"
            body = error_body(exc.status_code, exc.detail, accepted.message, meta)
        except asyncio.CancelledError:  # cut at the end of the shutdown grace
            body = error_body(503, SHUTTING_DOWN, accepted.message, meta)
            await self._complete(accepted, "error", body)
            raise
        await self._complete(accepted, event, body)

    async def _complete(self, accepted: Accepted, event: str, body: bytes) -> None:
        """Write the event (retrying while the storage is down), then wake the worker."""
        try:
            for wait in (*COMPLETE_RETRIES, None):
                try:
                    if not await self._outbox.complete(accepted.delivery_id, event, body):
                        log.warning(
                            "async turn answered after its lease ran out; the flow was sent "
                            "an error event instead",
                            extra={"delivery_id": accepted.delivery_id},
                        )
                    return
                except STORAGE_ERRORS as exc:
                    if wait is None:
                        log.error(
                            "async turn's event not written; its lease will run out",
                            extra={
                                "delivery_id": accepted.delivery_id,
                                "error": type(exc).__name__,
                            },
                        )
                        return
                    await asyncio.sleep(wait)
        finally:
            self._running.discard(accepted.delivery_id)
            self._wake()

    async def heartbeat(self) -> None:
        """Renew the leases of this process's accepted rows every third of the lease."""
        while True:
            await asyncio.sleep(self._lease / 3)
            if not self._running:
                continue
            try:
                await self._outbox.renew(
                    sorted(self._running), time.time() + self._lease, self._owner
                )
            except Exception as exc:
                log.warning("async turn leases not renewed", extra={"error": type(exc).__name__})
