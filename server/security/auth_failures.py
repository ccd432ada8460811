"""Failed authentication counted per client IP: past AUTH_FAILURES_PER_MINUTE wrong keys, every
request from that IP that needs a key is answered 429 until the minute's window frees up."""

import time
from collections.abc import Callable

from server.security.ratelimit import RateLimiter

_PRUNE_AT = 1024
"""Blocked addresses kept before expired ones are dropped."""


class FailedAuthLimit:
    """Counts wrong keys per IP in the shared limit store (Redis when configured) and remembers,
    in this process, which IPs are blocked and until when.

    While an IP is blocked even a right key is refused (429, the key not looked at): otherwise
    the limit would still tell a guessed key from a wrong one (200 against 429). Checking the
    block is a dict lookup: requests with a right key cost no limit-store call."""

    def __init__(self, limiter: RateLimiter, on_limited: Callable[[str], None]) -> None:
        self._limiter = limiter
        self._on_limited = on_limited
        self._blocked: dict[str, float] = {}

    @property
    def enabled(self) -> bool:
        """False when AUTH_FAILURES_PER_MINUTE is 0."""
        return self._limiter.enabled("auth")

    def blocked(self, ip: str) -> int | None:
        """The seconds left while `ip` is blocked, else None."""
        until = self._blocked.get(ip)
        if until is None:
            return None
        left = until - time.monotonic()
        if left <= 0:
            del self._blocked[ip]
            return None
        self._on_limited("auth")
        return max(1, round(left))

    async def failed(self, ip: str) -> int | None:
        """Count one wrong key from `ip`; the seconds to wait once past the limit, else None."""
        wait = await self._limiter.hit("auth", ip)
        if wait is not None:
            if len(self._blocked) >= _PRUNE_AT:
                now = time.monotonic()
                self._blocked = {k: v for k, v in self._blocked.items() if v > now}
            self._blocked[ip] = time.monotonic() + wait
        return wait
