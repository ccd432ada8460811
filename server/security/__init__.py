"""Security layer: API keys, CORS, rate limits, body and input size limits, honest OpenAPI."""

from fastapi import FastAPI

from server.security.auth import AuthMiddleware
from server.security.body_limit import BodyLimitMiddleware
from server.security.cors import SpanishCORSMiddleware, cors_options
from server.security.guard import SecurityGuard
from server.security.openapi import document_security
from server.security.ratelimit import ClientRateLimitMiddleware


def install_security(app: FastAPI, guard: SecurityGuard) -> None:
    """Add the security middleware, configured from the guard's settings (outermost first: CORS,
    auth, rate limit, body size), and document it in the OpenAPI schema."""
    settings = guard.settings
    app.add_middleware(BodyLimitMiddleware, limit=settings.MAX_BODY_BYTES)
    app.add_middleware(ClientRateLimitMiddleware, limiter=guard.limiter)
    app.add_middleware(AuthMiddleware, keys=guard.keys, failures=guard.auth_failures)
    if settings.CORS_ORIGINS:
        app.add_middleware(SpanishCORSMiddleware, **cors_options(list(settings.CORS_ORIGINS)))
    document_security(app, guard.keys, auth_limited=guard.auth_failures.enabled)
