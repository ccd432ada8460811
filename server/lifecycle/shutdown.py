"""Graceful shutdown: on SIGTERM/SIGINT refuse new turns, finish and store running ones, then exit.

uvicorn alone closes its listener at the first signal and sse-starlette cuts every open stream at
once (by design). So the app takes the signals first: it drains while still listening (new turns
and `/ready` answer 503, which lets a load balancer move traffic away), waits up to
SHUTDOWN_GRACE_SECONDS for the turns in flight, ends a turn still running at the deadline with a
503 (`error` event on a stream), and only then hands the signal to uvicorn, which closes the
listener, the now idle connections and the lifespan (agents, storage).
"""

import asyncio
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any, TypeVar

from server.errors import ApiError

log = logging.getLogger(__name__)

SHUTTING_DOWN = "El servicio se está reiniciando; inténtalo de nuevo en unos segundos."
NOT_READY = "El servicio se está deteniendo"
SIGNALS = (signal.SIGTERM, signal.SIGINT)
T = TypeVar("T")


class Shutdown:
    """Tracks the turns in flight and drains them when the service is asked to stop."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.draining = False
        self._deadline = float("inf")
        self._turns: set[asyncio.Task[Any]] = set()
        self._cutting = False

    def admit(self) -> None:
        """Raise the 503 for a new turn once the service is draining."""
        if self.draining:
            raise ApiError(503, SHUTTING_DOWN, headers={"Retry-After": "5", "Connection": "close"})

    def spawn(self, turn: Coroutine[Any, Any, T]) -> "asyncio.Task[T]":
        """Run a turn as a tracked task: drained on shutdown, a 503 if cut at the deadline."""
        task = asyncio.create_task(self._guard(turn))
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)
        return task

    async def _guard(self, turn: Coroutine[Any, Any, T]) -> T:
        try:
            return await turn
        except asyncio.CancelledError:
            if self._cutting:  # cancelled by us at the deadline: an answer, not a cut body
                raise ApiError(503, SHUTTING_DOWN) from None
            raise

    @property
    def in_flight(self) -> int:
        """Turns running now."""
        return len(self._turns)

    def begin(self) -> None:
        """Start draining: new turns and /ready answer 503 from now on."""
        if not self.draining:
            self.draining = True
            self._deadline = time.monotonic() + self.grace
            log.info(
                "shutting down: draining turns in flight",
                extra={"in_flight": self.in_flight, "grace_seconds": self.grace},
            )

    async def drain(self) -> None:
        """Wait for the turns in flight until the deadline; end the rest with a 503."""
        self.begin()
        pending = set(self._turns)
        if pending:
            remaining = max(0.0, self._deadline - time.monotonic())
            _, pending = await asyncio.wait(pending, timeout=remaining)
        if pending:
            log.warning("shutdown grace exceeded: ending turns", extra={"count": len(pending)})
            self._cutting = True
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=5)
        log.info("turns drained")


class _SignalRelay:
    """Takes SIGTERM/SIGINT from uvicorn, drains, then passes the signal on to uvicorn."""

    def __init__(self, shutdown: Shutdown, loop: asyncio.AbstractEventLoop) -> None:
        self._shutdown = shutdown
        self._loop = loop
        self.previous: dict[int, Any] = {}
        self._drainer: asyncio.Task[None] | None = None

    def install(self) -> None:
        self.previous = {sig: signal.signal(sig, self._on_signal) for sig in SIGNALS}

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        if self._drainer is not None:  # a second signal: stop now (uvicorn forces on SIGINT)
            self._pass_on(sig, frame)
            return
        self._loop.call_soon_threadsafe(self._start, sig)

    def _start(self, sig: int) -> None:
        if self._drainer is None:
            self._shutdown.begin()
            self._drainer = self._loop.create_task(self._drain_then_exit(sig))

    async def _drain_then_exit(self, sig: int) -> None:
        await self._shutdown.drain()
        self._pass_on(sig, None)

    def _pass_on(self, sig: int, frame: FrameType | None) -> None:
        handler = self.previous.get(sig)
        if callable(handler):
            handler(sig, frame)


@asynccontextmanager
async def graceful_shutdown(shutdown: Shutdown) -> AsyncIterator[None]:
    """Hold the app's signals while it runs (main thread only); drain before the lifespan closes."""
    relay = None
    if threading.current_thread() is threading.main_thread():
        relay = _SignalRelay(shutdown, asyncio.get_running_loop())
        relay.install()
    try:
        yield
    finally:
        if relay is not None:
            relay.restore()
        await shutdown.drain()
