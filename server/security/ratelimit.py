"""Rate limits with the `limits` library: per key (or IP) before the body, per session after it."""

import math
import time
from collections.abc import Callable
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.routing import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from server.security.asgi import send_error
from server.security.auth import IDENTITY_SCOPE_KEY, Identity
from server.security.limit_store import LimitStore
from server.security.policy import is_rate_limited

LimitScope = Literal["client", "session"]
CLIENT_LIMITED = "Demasiadas solicitudes; inténtalo de nuevo en {seconds} segundos."
SESSION_LIMITED = (
    "Demasiados mensajes en esta conversación; inténtalo de nuevo en {seconds} segundos."
)


class RateLimiter:
    """Moving one-minute windows per client and per session over a LimitStore."""

    def __init__(
        self,
        store: LimitStore,
        *,
        per_client: int,
        per_session: int,
        on_limited: Callable[[str], None],
    ) -> None:
        self.store = store
        self._items: dict[str, RateLimitItem | None] = {
            "client": RateLimitItemPerMinute(per_client) if per_client > 0 else None,
            "session": RateLimitItemPerMinute(per_session) if per_session > 0 else None,
        }
        self._on_limited = on_limited

    @property
    def storage_errors(self) -> int:
        """Failed or timed-out calls to the shared (Redis) storage."""
        return self.store.storage_errors

    async def hit(self, scope: LimitScope, identity: str) -> int | None:
        """Count one request; None when allowed, else the seconds to wait."""
        item = self._items[scope]
        if item is None:
            return None

        async def decide(strategy: MovingWindowRateLimiter) -> int | None:
            if await strategy.hit(item, scope, identity):
                return None
            stats = await strategy.get_window_stats(item, scope, identity)
            return max(1, math.ceil(stats.reset_time - time.time()))

        wait = await self.store.run(decide)
        if wait is not None:
            self._on_limited(scope)
        return wait


def limited_headers(seconds: int) -> dict[str, str]:
    """The headers of a 429."""
    return {"Retry-After": str(seconds)}


class ClientRateLimitMiddleware:
    """429 once a key (or an IP, when keys are off) exceeds RATE_LIMIT_PER_MINUTE on the chat API.
    Runs inside AuthMiddleware, which names the caller's bucket."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] == "OPTIONS"
            or not is_rate_limited(get_route_path(scope))
        ):
            await self.app(scope, receive, send)
            return
        identity: Identity | None = scope.get(IDENTITY_SCOPE_KEY)
        client = (scope.get("client") or ("desconocido", 0))[0]
        bucket = identity.bucket if identity is not None else f"ip:{client}"
        wait = await self.limiter.hit("client", bucket)
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
