"""Where rate-limit counts live: Redis when configured, short-circuited by a breaker to per-process
counts while Redis is slow or down."""

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import TypeVar

from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import ConnectionPool

from common.breaker import CircuitBreaker, CircuitOpenError

log = logging.getLogger(__name__)

T = TypeVar("T")
KEY_PREFIX = "maravia:ratelimit"
BREAKER_THRESHOLD = 3
"""Consecutive Redis failures (errors or timeouts) that open the breaker."""
STORAGE_ERRORS = (StorageError, OSError, TimeoutError)
_WARN_EVERY = 60.0
_STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}


class LimitStore:
    """Runs each rate-limit decision on Redis (shared by every instance) when connected, else, or
    while the breaker is open, on this process's own counts. A decision never waits on Redis
    longer than `timeout`; `BREAKER_THRESHOLD` failures in a row stop asking Redis for
    `breaker_reset` seconds, then one request probes it again."""

    def __init__(self, *, timeout: float, breaker_reset: float) -> None:
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._timeout = timeout
        self.breaker = CircuitBreaker(threshold=BREAKER_THRESHOLD, reset_timeout=breaker_reset)
        self.storage_errors = 0
        """Redis calls that failed or timed out."""
        self.fallbacks = 0
        """Decisions taken on per-process counts although Redis is configured."""
        self._warned_at = -math.inf

    @property
    def backend(self) -> str:
        """`redis` once connected to Redis, else `memory`."""
        return "redis" if self._shared is not None else "memory"

    @asynccontextmanager
    async def connect(self, redis_url: str | None) -> AsyncIterator[None]:
        """Use Redis at `redis_url` (None: per-process counts only) until the context exits."""
        if redis_url is None:
            yield
            return
        pool = ConnectionPool.from_url(
            redis_url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
        )
        try:
            storage = RedisStorage(
                f"async+{redis_url}",
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                wrap_exceptions=True,
                connection_pool=pool,  # type: ignore[arg-type]  # limits types **options as scalars
            )
            if not await self._reachable(storage):
                log.warning(
                    "rate-limit Redis not reachable at start-up; counting per process until it is"
                )
            self._shared = MovingWindowRateLimiter(storage)
            yield
        finally:
            self._shared = None
            await pool.aclose()

    async def _reachable(self, storage: RedisStorage) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                return await storage.check()
        except STORAGE_ERRORS:
            return False

    async def run(self, decide: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        """`decide` on Redis when it may be asked, else (or when it fails) on local counts."""
        shared = self._shared
        if shared is not None:
            try:
                self.breaker.before_call()
            except CircuitOpenError:
                pass
            else:
                try:
                    async with asyncio.timeout(self._timeout):
                        result = await decide(shared)
                except STORAGE_ERRORS as exc:
                    self._failed(exc)
                except BaseException:
                    self.breaker.abort_probe()  # cancelled: let the next request probe instead
                    raise
                else:
                    self._succeeded()
                    return result
            self.fallbacks += 1
        return await decide(self.local)

    def _succeeded(self) -> None:
        was_open = self.breaker.state != "closed"
        self.breaker.record_success()
        if was_open:
            log.warning("rate-limit Redis answers again; limits are shared across instances")

    def _failed(self, exc: BaseException) -> None:
        self.storage_errors += 1
        was_open = self.breaker.state != "closed"
        self.breaker.record_failure()
        error = type(getattr(exc, "storage_error", None) or exc).__name__
        now = time.monotonic()
        if self.breaker.state == "open" and not was_open:
            self._warned_at = now
            log.warning(
                "rate-limit Redis is slow or down; limits count per process for "
                f"{self.breaker.reset_timeout:g} s before Redis is tried again",
                extra={"error": error, "failures": self.breaker.failure_count},
            )
        elif now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            log.warning(
                "rate-limit Redis call failed; this request was counted per process",
                extra={"error": error},
            )

    def snapshot(self) -> dict[str, object]:
        """The `rate_limit_storage` entry of `/metrics`."""
        return {
            "backend": self.backend,
            "breaker": self.breaker.state if self._shared is not None else "closed",
            "failure_count": self.breaker.failure_count,
            "storage_errors": self.storage_errors,
            "fallbacks": self.fallbacks,
        }


class LimitStoreCollector(Collector):
    """Prometheus view of a LimitStore: breaker state, Redis errors and per-process decisions."""

    def __init__(self, store: LimitStore) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        snap = self._store.snapshot()
        state = GaugeMetricFamily(
            "orquestador_rate_limit_breaker_state",
            "Rate-limit Redis breaker (0 closed, 1 half_open, 2 open)",
            value=_STATE_VALUE[str(snap["breaker"])],
        )
        errors = CounterMetricFamily(
            "orquestador_rate_limit_storage_errors",
            "Rate-limit Redis calls that failed or timed out",
            value=self._store.storage_errors,
        )
        fallbacks = CounterMetricFamily(
            "orquestador_rate_limit_fallbacks",
            "Rate-limit decisions counted per process although Redis is configured",
            value=self._store.fallbacks,
        )
        yield from (state, errors, fallbacks)
