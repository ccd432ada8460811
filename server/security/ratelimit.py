"""Rate limits with the `limits` library: per key (or IP) before the body, per company and per
session after it; failed authentications per client IP."""

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

LimitScope = Literal["client", "company", "session", "auth"]
CLIENT_LIMITED = "Demasiadas solicitudes; inténtalo de nuevo en {seconds} segundos."
SESSION_LIMITED = (
    "Demasiados mensajes en esta conversación; inténtalo de nuevo en {seconds} segundos."
)
COMPANY_LIMITED = "Demasiados mensajes de esta empresa; inténtalo de nuevo en {seconds} segundos."
_REMEMBER_AT_MOST = 1024
"""Full windows remembered before expired ones are dropped."""
DEFERRED_BUCKET_KEY = "maravia.rate_bucket"
"""Scope key: the caller's bucket whose count waits for the company check (see admit_turn)."""


class RateLimiter:
    """Moving one-minute windows per client and per session over a LimitStore."""

    def __init__(
        self,
        store: LimitStore,
        *,
        per_client: int,
        per_session: int,
        on_limited: Callable[[str], None],
        per_company: int = 0,
        auth_failures: int = 0,
    ) -> None:
        self.store = store
        limits = {
            "client": per_client,
            "company": per_company,
            "session": per_session,
            "auth": auth_failures,
        }
        self._items: dict[str, RateLimitItem | None] = {
            scope: RateLimitItemPerMinute(n) if n > 0 else None for scope, n in limits.items()
        }
        self._on_limited = on_limited
        self._full_until: dict[tuple[str, str], float] = {}

    def enabled(self, scope: LimitScope) -> bool:
        """True when this scope has a limit (its setting is not 0)."""
        return self._items[scope] is not None

    @property
    def storage_errors(self) -> int:
        """Failed or timed-out calls to the shared (Redis) storage."""
        return self.store.storage_errors

    async def hit(self, scope: LimitScope, identity: str, *, report: bool = True) -> int | None:
        """Count one request; None when allowed, else the seconds to wait (reported to the
        metrics unless `report` is False)."""
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
            self._remember_full(scope, identity, wait)
            if report:
                self._on_limited(scope)
        return wait

    def known_full(self, scope: LimitScope, identity: str) -> int | None:
        """The seconds left when this process saw `identity`'s window full and it has not freed a
        place since (nothing can have: counts only grow until then), else None. No I/O."""
        until = self._full_until.get((scope, identity))
        if until is None:
            return None
        left = until - time.monotonic()
        if left <= 0:
            del self._full_until[(scope, identity)]
            return None
        self._on_limited(scope)
        return max(1, math.ceil(left))

    def _remember_full(self, scope: LimitScope, identity: str, wait: int) -> None:
        if len(self._full_until) >= _REMEMBER_AT_MOST:
            now = time.monotonic()
            self._full_until = {k: v for k, v in self._full_until.items() if v > now}
        self._full_until[(scope, identity)] = time.monotonic() + wait - 1


def limited_headers(seconds: int) -> dict[str, str]:
    """The headers of a 429."""
    return {"Retry-After": str(seconds)}


class ClientRateLimitMiddleware:
    """429 once a key (or an IP, when keys are off) exceeds RATE_LIMIT_PER_MINUTE on the chat API.
    Runs inside AuthMiddleware, which names the caller's bucket.

    With a per-company limit, a turn is not counted here: it is counted once its company's own
    limit let it through (`SecurityGuard.admit_turn`), so that one company's refused flood does
    not use up the key's limit for the others. A key this process already saw over its limit is
    still refused here, before the body, without asking the limit store."""

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
        deferred = self.limiter.enabled("company")
        if deferred:
            scope[DEFERRED_BUCKET_KEY] = bucket
            wait = self.limiter.known_full("client", bucket)
        else:
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
        try:
            await self.app(scope, receive, send)
        finally:
            if deferred and scope.pop(DEFERRED_BUCKET_KEY, None) is not None:
                # refused before its company was known (400, 404…): counted as before
                await self.limiter.hit("client", bucket, report=False)
