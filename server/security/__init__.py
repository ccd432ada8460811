"""Security layer: API keys, CORS, rate limits, body and input size limits, honest OpenAPI."""

from fastapi import FastAPI

from server.security.auth import AuthMiddleware
from server.security.body_limit import BodyLimitMiddleware
from server.security.cors import CORSGate
from server.security.openapi import document_security
from server.security.ratelimit import ClientRateLimitMiddleware


def install_security(app: FastAPI) -> None:
    """Add the security middleware (outermost first: CORS, auth, rate limit, body size)."""
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(ClientRateLimitMiddleware)
    app.add_middleware(AuthMiddleware)
    app.add_middleware(CORSGate)
    document_security(app)
