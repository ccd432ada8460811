"""The per-app security objects (keys, limiter) built with the app; the turn's admission check."""

import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from server.conversations.keys import conversation_key
from server.errors import ApiError
from server.observability.metrics import Metrics
from server.schemas import ChatRequest
from server.security.auth import KeyRing
from server.security.auth_failures import FailedAuthLimit
from server.security.input_limits import check_chat_input
from server.security.limit_store import LimitStore, LimitStoreCollector
from server.security.ratelimit import (
    CLIENT_LIMITED,
    COMPANY_LIMITED,
    DEFERRED_BUCKET_KEY,
    SESSION_LIMITED,
    RateLimiter,
    limited_headers,
)
from server.settings import Settings
from server.turn.session_ids import session_ref

log = logging.getLogger(__name__)


@dataclass
class SecurityGuard:
    """API keys, the rate limiter and the input limits of one app instance."""

    settings: Settings
    keys: KeyRing
    limiter: RateLimiter
    auth_failures: FailedAuthLimit

    async def admit_turn(
        self, request: ChatRequest, scope: MutableMapping[str, object] | None = None
    ) -> None:
        """After validation: 400 for oversized input, then 429 past the company's own limit, the
        caller's (key or IP) limit whose count waited for the company (`scope` holds its bucket)
        and the per-conversation limit (with DOUBLE_TEXTING=merge a burst counts once, when its
        first message is buffered). A turn its company's limit refuses does not count against
        the caller's shared limit: one company's flood leaves the others their share."""
        check_chat_input(request, self.settings.MAX_MESSAGE_CHARS)
        bucket = scope.pop(DEFERRED_BUCKET_KEY, None) if scope is not None else None
        if isinstance(bucket, str):
            wait = await self.limiter.hit("company", f"{bucket}|empresa:{request.company}")
            if wait is not None:
                raise ApiError(429, COMPANY_LIMITED.format(seconds=wait), limited_headers(wait))
            wait = await self.limiter.hit("client", bucket)
            if wait is not None:
                raise ApiError(429, CLIENT_LIMITED.format(seconds=wait), limited_headers(wait))
        if self.settings.DOUBLE_TEXTING == "merge":  # a burst counts once, when buffered
            return
        conversation = conversation_key(
            request.company, request.session_key, self.settings.SESSION_SCOPE
        )
        wait = await self.limiter.hit("session", session_ref(conversation))
        if wait is not None:
            raise ApiError(429, SESSION_LIMITED.format(seconds=wait), limited_headers(wait))

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[None]:
        """The lifespan part: log the security set-up and hold the Redis connection, if any."""
        settings = self.settings
        if self.keys.chat_open:
            log.warning(
                "API_KEYS is not set: the chat API is open to anyone (local development only)"
            )
        if self.keys.admin_open:
            log.warning(
                "API_KEYS and ADMIN_API_KEYS are not set: /memory, /config and /metrics "
                "are open (local development only)"
            )
        if "*" in settings.CORS_ORIGINS:
            log.warning(
                "CORS_ORIGINS contains '*': any web origin may call the API (no credentials)"
            )
        redis_url = settings.REDIS_URL.get_secret_value() if settings.REDIS_URL else None
        async with self.limiter.store.connect(redis_url):
            log.info(
                "security configured",
                extra={
                    "api_keys": len(settings.API_KEYS),
                    "admin_api_keys": len(settings.ADMIN_API_KEYS),
                    "cors_origins": len(settings.CORS_ORIGINS),
                    "rate_limit_per_minute": settings.RATE_LIMIT_PER_MINUTE,
                    "session_rate_limit_per_minute": settings.SESSION_RATE_LIMIT_PER_MINUTE,
                    "company_rate_limit_per_minute": settings.company_rate_limit,
                    "auth_failures_per_minute": settings.AUTH_FAILURES_PER_MINUTE,
                    "rate_limit_storage": self.limiter.store.backend,
                },
            )
            yield


def build_guard(settings: Settings, metrics: Metrics) -> SecurityGuard:
    """Keys and limiter from the settings (no I/O; `connect()` opens Redis in the lifespan)."""
    keys = KeyRing(
        [key.get_secret_value() for key in settings.API_KEYS],
        [key.get_secret_value() for key in settings.ADMIN_API_KEYS],
    )
    store = LimitStore(
        timeout=settings.REDIS_TIMEOUT, breaker_reset=settings.REDIS_BREAKER_RESET_SECONDS
    )
    metrics.registry.register(LimitStoreCollector(store))
    limiter = RateLimiter(
        store,
        per_client=settings.RATE_LIMIT_PER_MINUTE,
        per_session=settings.SESSION_RATE_LIMIT_PER_MINUTE,
        on_limited=metrics.limited,
        per_company=settings.company_rate_limit,
        auth_failures=settings.AUTH_FAILURES_PER_MINUTE,
    )
    return SecurityGuard(
        settings=settings,
        keys=keys,
        limiter=limiter,
        auth_failures=FailedAuthLimit(limiter),
    )
