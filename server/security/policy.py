"""Which paths need which key: one table shared by the middleware and the OpenAPI document."""

from typing import Literal

Access = Literal["open", "chat", "admin"]

CHAT_PREFIX = "/api/agent/chat"
ADMIN_PATHS = ("/config", "/metrics", "/usage")
ADMIN_PREFIXES = ("/memory", "/metrics", "/webhooks", "/sessions")


def access_for(path: str) -> Access:
    """`chat` for /api/agent/chat*, `admin` for /memory/*, /config, /metrics*, /usage,
    /webhooks/*, /sessions*, else `open`."""
    path = path.rstrip("/") or "/"
    if path == CHAT_PREFIX or path.startswith(CHAT_PREFIX + "/"):
        return "chat"
    if path in ADMIN_PATHS or any(path == p or path.startswith(p + "/") for p in ADMIN_PREFIXES):
        return "admin"
    return "open"


def is_rate_limited(path: str) -> bool:
    """Paths counted against the per-key (or per-IP) limit: the chat endpoints."""
    return access_for(path) == "chat"
