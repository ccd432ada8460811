"""The delivery worker: claims the outbox's due rows and POSTs each, signed, to its company's
reply webhook; retries with exponential backoff, gives up into `failed`."""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from server.observability.metrics import Metrics
from server.settings import Settings
from server.webhooks.outbox import Claimed, Outbox
from server.webhooks.signing import DELIVERY_HEADER, SIGNATURE_HEADER, signature

log = logging.getLogger(__name__)

CONCURRENCY = 16
"""Deliveries in flight per process (rows of different conversations)."""
POLL_SECONDS = 1.0
"""How often an idle worker looks for rows other processes wrote or whose backoff ended."""
STATS_SECONDS = 5.0
"""How often the backlog gauges are read from the database (idle)..."""
BUSY_STATS_SECONDS = 1.0
"""...and while this worker is delivering."""
PURGE_SECONDS = 600.0
DELIVERED_KEPT_SECONDS = 3600.0
"""Delivered rows are kept this long (GET /webhooks/deliveries/{id}), then deleted."""
CLAIM_MARGIN = 5.0
"""A claim's lease is WEBHOOK_TIMEOUT plus this: past it, a crashed worker's row is retried."""
MAX_RETRY_AFTER = 600.0
RESPONSE_READ_LIMIT = 64 * 1024
"""Bytes of a receiver's answer read at most (its body is never used)."""
USER_AGENT = "maravia-orquestador-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """One attempt's result: `status` (None without a response) and the metric's label."""

    status: int | None
    label: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Connection errors, timeouts, 429 and 5xx are retried; other statuses are not."""
        return self.status is None or self.status == 429 or self.status >= 500


def classify(status: int) -> str:
    """The attempts metric's label of an HTTP status (a bounded set)."""
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "http_429"
    if status >= 500:
        return "http_5xx"
    if status >= 400:
        return "http_4xx"
    return "http_other"


def backoff(base: float, attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: base, 2·base, 4·base…"""
    return float(base * 2 ** max(0, attempts - 1))


def retry_after(value: str | None) -> float:
    """A Retry-After header in seconds (0 when absent or unreadable), at most MAX_RETRY_AFTER."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 0.0
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


async def _drain(response: httpx.Response) -> None:
    """Read (and drop) a small response body so the connection can be reused; a large one is
    cut (the connection is then closed)."""
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > RESPONSE_READ_LIMIT:
            break


class DeliveryWorker:
    """Delivers the outbox: claims heads with a lease, posts them, records each outcome."""

    def __init__(
        self,
        outbox: Outbox,
        settings: Settings,
        metrics: Metrics,
        http: httpx.AsyncClient,
        owner: str,
        stopping: Callable[[], bool],
    ) -> None:
        self._outbox = outbox
        self._settings = settings
        self._metrics = metrics
        self._http = http
        self._owner = owner
        self._stopping = stopping
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._soonest = float("inf")
        self._failing: set[str] = set()
        """URLs whose last attempt here failed: their next success ends other rows' backoff."""
        """When this process's earliest backoff ends (time.time()): the worker looks then."""

    def wake(self) -> None:
        """A row became ready: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and deliver until cancelled; stop claiming once the service is draining."""
        try:
            await self._loop()
        finally:
            for task in self._inflight:  # the leases run out: the next start delivers them
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _loop(self) -> None:
        next_stats = next_purge = 0.0
        while True:
            self._wake.clear()
            claimed_all = False
            if not self._stopping():
                free = CONCURRENCY - len(self._inflight)
                if free > 0:
                    rows = await self._claim(free)
                    claimed_all = len(rows) == free
                    for row in rows:
                        task = asyncio.create_task(self._deliver(row), name="webhook-delivery")
                        self._inflight.add(task)
                        task.add_done_callback(self._inflight.discard)
            now = time.monotonic()
            if self._inflight:  # busy: the backlog gauges follow within a second
                next_stats = min(next_stats, now + BUSY_STATS_SECONDS)
            if now >= next_stats:
                next_stats = now + STATS_SECONDS
                await self.refresh_backlog()
            if now >= next_purge:
                next_purge = now + PURGE_SECONDS
                await self._purge()
            wait = max(0.0, min(POLL_SECONDS, self._soonest - time.time()))
            if self._soonest <= time.time():
                self._soonest = float("inf")
            await self._idle(0 if claimed_all and not self._inflight else wait)

    async def _idle(self, timeout: float) -> None:
        """Wait for a wake-up, a finished delivery (a free slot, a conversation's next row) or
        the poll interval."""
        waiter = asyncio.create_task(self._wake.wait())
        try:
            await asyncio.wait(
                {waiter, *self._inflight}, timeout=timeout, return_when="FIRST_COMPLETED"
            )
        finally:
            waiter.cancel()

    async def _claim(self, limit: int) -> list[Claimed]:
        lease = time.time() + self._settings.WEBHOOK_TIMEOUT + CLAIM_MARGIN
        try:
            return await self._outbox.claim(limit, lease, self._owner)
        except Exception as exc:  # storage down: the rows wait; /ready reports the storage
            log.warning("webhook outbox unavailable", extra={"error": type(exc).__name__})
            return []

    async def refresh_backlog(self) -> None:
        """Read the backlog gauges from the database (every worker and instance's rows)."""
        try:
            self._metrics.webhook_backlog(await self._outbox.backlog())
        except Exception as exc:
            log.warning("webhook backlog not read", extra={"error": type(exc).__name__})

    async def _purge(self) -> None:
        try:
            await self._outbox.purge(time.time() - DELIVERED_KEPT_SECONDS)
        except Exception as exc:
            log.warning("delivered webhooks not purged", extra={"error": type(exc).__name__})

    async def _deliver(self, row: Claimed) -> None:
        """One attempt of one row, then its new state (delivered, retry later, or failed)."""
        url = self._settings.reply_webhook_url(row.id_empresa)
        extra = {"delivery_id": row.delivery_id, "id_empresa": row.id_empresa}
        try:
            if url is None:
                await self._give_up(row, None, "no webhook configured for this company", extra)
                return
            outcome, wait = await self._post(url, row)
            self._metrics.webhook_attempt(outcome.label)
            extra = {**extra, "attempt": row.attempts, "status": outcome.status}
            if outcome.ok:
                assert outcome.status is not None
                await self._outbox.delivered(row.delivery_id, outcome.status)
                self._metrics.webhook_delivery("delivered")
                log.info("webhook delivered", extra=extra)
                if url in self._failing:
                    self._failing.discard(url)
                    await self._receiver_back(url)
                return
            if outcome.retryable and outcome.status != 429:  # down, not asking us to slow down
                self._failing.add(url)
            if not outcome.retryable:
                await self._give_up(row, outcome.status, outcome.label, extra)
            elif row.attempts >= self._settings.WEBHOOK_MAX_ATTEMPTS:
                await self._give_up(row, outcome.status, f"{outcome.label}: attempts spent", extra)
            else:
                delay = max(backoff(self._settings.WEBHOOK_RETRY_BASE_SECONDS, row.attempts), wait)
                due = time.time() + delay
                await self._outbox.retry_later(row.delivery_id, due, outcome.status, outcome.label)
                self._soonest = min(self._soonest, due)
                self._wake.set()  # the loop recomputes its wait
                log.info("webhook attempt failed; retrying", extra={**extra, "retry_in": delay})
        except asyncio.CancelledError:
            raise  # shutdown: the lease runs out and the next start delivers the row
        except Exception as exc:  # storage down while recording: the lease runs out, resent
            log.warning(
                "webhook outcome not recorded", extra={**extra, "error": type(exc).__name__}
            )

    async def _receiver_back(self, url: str) -> None:
        """A receiver that failed answered 2xx again: rows waiting on a backoff for the same
        URL are retried now instead of at the end of their backoff (up to minutes)."""
        settings = self._settings
        same = [c for c, u in settings.REPLY_WEBHOOK_URLS.items() if u == url]
        if url == settings.REPLY_WEBHOOK_URL:
            others = [c for c, u in settings.REPLY_WEBHOOK_URLS.items() if u != url]
            hurried = await self._outbox.hurry(None, others)
        else:
            hurried = await self._outbox.hurry(same, [])
        if hurried:
            log.info("webhook receiver answers again; retrying now", extra={"rows": hurried})
            self.wake()

    async def _give_up(
        self, row: Claimed, status: int | None, reason: str, extra: dict[str, object]
    ) -> None:
        await self._outbox.failed(row.delivery_id, status, reason)
        self._metrics.webhook_delivery("failed")
        log.error(
            "webhook delivery failed; kept in /webhooks/failed", extra={**extra, "reason": reason}
        )

    async def _post(self, url: str, row: Claimed) -> tuple[Outcome, float]:
        """POST the row's exact bytes, signed; the outcome and any Retry-After in seconds."""
        secret = self._settings.WEBHOOK_SECRET
        assert secret is not None  # the settings refuse a webhook URL without a secret
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: row.delivery_id,
            SIGNATURE_HEADER: signature(secret.get_secret_value(), row.body),
            "X-Request-ID": row.request_id,
        }
        try:
            async with self._http.stream(
                "POST",
                url,
                content=row.body,
                headers=headers,
                timeout=self._settings.WEBHOOK_TIMEOUT,
            ) as response:
                status = response.status_code
                await _drain(response)
                wait = (
                    retry_after(response.headers.get("retry-after")) if status in (429, 503) else 0
                )
                return Outcome(status, classify(status)), wait
        except httpx.TimeoutException:
            return Outcome(None, "timeout"), 0.0
        except httpx.HTTPError:
            return Outcome(None, "connection"), 0.0
