"""Failed authentication counted per client IP: past AUTH_FAILURES_PER_MINUTE wrong keys, every
request from that IP that needs a key is answered 429 until the minute's window frees up."""

from server.security.ratelimit import RateLimiter


class FailedAuthLimit:
    """Counts wrong keys per IP in the shared limit store (Redis when configured); the limiter
    remembers, in this process, which IPs are over the limit and until when.

    While an IP is blocked even a right key is refused (429, the key not looked at): otherwise
    the limit would still tell a guessed key from a wrong one (200 against 429). Checking the
    block is a dict lookup: requests with a right key cost no limit-store call."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    @property
    def enabled(self) -> bool:
        """False when AUTH_FAILURES_PER_MINUTE is 0."""
        return self._limiter.enabled("auth")

    def blocked(self, ip: str) -> int | None:
        """The seconds left while `ip` is blocked, else None (no I/O)."""
        return self._limiter.known_full("auth", ip)

    async def failed(self, ip: str) -> int | None:
        """Count one wrong key from `ip`; the seconds to wait once past the limit, else None."""
        return await self._limiter.hit("auth", ip)
