"""Rate limits with the `limits` library: per key (or IP) before the body, per session after it."""

import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from starlette.routing import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from server.security.asgi import STARTING, send_error, services_of
from server.security.auth import IDENTITY_SCOPE_KEY
from server.security.policy import is_rate_limited

log = logging.getLogger(__name__)

LimitScope = Literal["client", "session"]
KEY_PREFIX = "maravia:ratelimit"
CLIENT_LIMITED = "Demasiadas solicitudes; inténtalo de nuevo en {seconds} segundos."
SESSION_LIMITED = (
    "Demasiados mensajes en esta conversación; inténtalo de nuevo en {seconds} segundos."
)
_WARN_EVERY = 60.0


class RateLimiter:
    """Moving one-minute windows per client and per session over a memory or Redis storage."""

    def __init__(
        self,
        storage: Storage,
        *,
        per_client: int,
        per_session: int,
        on_limited: Callable[[str], None],
    ) -> None:
        self._strategy = MovingWindowRateLimiter(storage)
        self._items: dict[str, RateLimitItem | None] = {
            "client": RateLimitItemPerMinute(per_client) if per_client > 0 else None,
            "session": RateLimitItemPerMinute(per_session) if per_session > 0 else None,
        }
        self._on_limited = on_limited
        self._warned_at = -math.inf
        self.storage_errors = 0

    async def hit(self, scope: LimitScope, identity: str) -> int | None:
        """Count one request; None when allowed, else the seconds to wait (fails open on storage errors)."""
        item = self._items[scope]
        if item is None:
            return None
        try:
            if await self._strategy.hit(item, scope, identity):
                return None
            stats = await self._strategy.get_window_stats(item, scope, identity)
        except (StorageError, OSError, TimeoutError) as exc:
            self._storage_failed(exc)
            return None
        self._on_limited(scope)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _storage_failed(self, exc: BaseException) -> None:
        self.storage_errors += 1
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            log.warning(
                "rate-limit storage unavailable; requests are not being limited",
                extra={"error": type(getattr(exc, "storage_error", exc)).__name__},
            )


@asynccontextmanager
async def open_rate_limiter(
    redis_url: str | None, *, per_client: int, per_session: int, on_limited: Callable[[str], None]
) -> AsyncIterator[RateLimiter]:
    """A limiter over Redis (shared by every instance) when `redis_url` is set, else in memory."""
    if redis_url is None:
        yield RateLimiter(
            MemoryStorage(), per_client=per_client, per_session=per_session, on_limited=on_limited
        )
        return
    import redis.asyncio as aioredis

    pool = aioredis.ConnectionPool.from_url(
        redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
    )
    try:
        storage = RedisStorage(
            f"async+{redis_url}",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            wrap_exceptions=True,
            connection_pool=pool,
        )
        if not await storage.check():
            log.warning("rate-limit Redis not reachable at start-up; limits fail open until it is")
        yield RateLimiter(
            storage, per_client=per_client, per_session=per_session, on_limited=on_limited
        )
    finally:
        await pool.aclose()


def limited_headers(seconds: int) -> dict[str, str]:
    """The headers of a 429."""
    return {"Retry-After": str(seconds)}


class ClientRateLimitMiddleware:
    """429 once a key (or an IP, when keys are off) exceeds RATE_LIMIT_PER_MINUTE on the chat API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"
            or not is_rate_limited(get_route_path(scope))
        ):
            await self.app(scope, receive, send)
            return
        services = services_of(scope)
        identity = scope.get(IDENTITY_SCOPE_KEY)
        if services is None or identity is None:
            await send_error(scope, receive, send, 503, STARTING)
            return
        wait = await services.security.limiter.hit("client", identity.bucket)
        if wait is not None:
            await send_error(
                scope,
                receive,
                send,
                429,
                CLIENT_LIMITED.format(seconds=wait),
                limited_headers(wait),
            )
            return
        await self.app(scope, receive, send)
