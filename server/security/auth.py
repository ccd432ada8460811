"""API keys: constant-time lookup of `X-API-Key` / `Authorization: Bearer`; the auth middleware."""

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from starlette.datastructures import Headers
from starlette.routing import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from server.security.asgi import send_error
from server.security.policy import access_for

if TYPE_CHECKING:
    from server.security.auth_failures import FailedAuthLimit

log = logging.getLogger(__name__)

Role = Literal["chat", "admin"]
IDENTITY_SCOPE_KEY = "maravia.identity"

MISSING = (
    "Falta la clave de API: envíala en la cabecera X-API-Key o como Authorization: Bearer <clave>"
)
INVALID = "La clave de API no es válida"
FORBIDDEN = "Esta clave de API no tiene permiso para acceder a este recurso de administración"
CHALLENGE = {"WWW-Authenticate": "Bearer"}
AUTH_LIMITED = (
    "Demasiados intentos con una clave de API no válida desde esta dirección; "
    "inténtalo de nuevo en {seconds} segundos."
)


def fingerprint(key: str) -> str:
    """A short, non-reversible id of a key, for rate-limit buckets and DEBUG logs."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class Identity:
    """Who is calling: a key's role and fingerprint, or the client's address."""

    role: Role | None
    bucket: str


class KeyRing:
    """The configured chat and admin keys, kept only as SHA-256 digests."""

    def __init__(self, chat_keys: list[str], admin_keys: list[str]) -> None:
        self._chat = [_digest(key) for key in chat_keys]
        self._admin = [_digest(key) for key in admin_keys]

    @property
    def chat_open(self) -> bool:
        """No API_KEYS: the chat endpoints are open (local development)."""
        return not self._chat

    @property
    def admin_open(self) -> bool:
        """Admin endpoints are open only when neither API_KEYS nor ADMIN_API_KEYS is set."""
        return not self._chat and not self._admin

    def needs_key(self, access: str) -> bool:
        """True when a path of this access class refuses a request without a right key."""
        if access == "chat":
            return not self.chat_open
        return access == "admin" and not self.admin_open

    def role_of(self, presented: str) -> Role | None:
        """`admin`, `chat` or None; every configured key is compared, in constant time."""
        digest = _digest(presented)
        is_admin = is_chat = False
        for known in self._admin:
            is_admin |= hmac.compare_digest(digest, known)
        for known in self._chat:
            is_chat |= hmac.compare_digest(digest, known)
        return "admin" if is_admin else "chat" if is_chat else None


def presented_keys(headers: Headers) -> list[str]:
    """The keys a request carries: `X-API-Key`, then `Authorization: Bearer`."""
    keys = []
    if value := headers.get("x-api-key", "").strip():
        keys.append(value)
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        keys.append(token.strip())
    return keys


def authorize(
    ring: KeyRing, access: str, headers: Headers, client: str
) -> tuple[int, str] | Identity:
    """The caller's Identity, or the (status, Spanish detail) refusing it."""
    keys = presented_keys(headers)
    best: Role | None = None
    bucket = f"ip:{client}"
    for key in keys:
        role = ring.role_of(key)
        if role is not None and best != "admin":
            best, bucket = role, f"key:{fingerprint(key)}"
    if (
        access == "open"
        or (access == "chat" and ring.chat_open)
        or (access == "admin" and ring.admin_open)
    ):
        return Identity(best, bucket if not ring.chat_open else f"ip:{client}")
    if not keys:
        return 401, MISSING
    if best is None:
        return 401, INVALID
    if access == "admin" and best != "admin":
        return 403, FORBIDDEN
    return Identity(best, bucket)


class AuthMiddleware:
    """Refuses chat and admin requests without the right key before anything reads the body, and
    every such request from an IP past AUTH_FAILURES_PER_MINUTE wrong keys (429)."""

    def __init__(
        self, app: ASGIApp, keys: KeyRing, failures: "FailedAuthLimit | None" = None
    ) -> None:
        self.app = app
        self.keys = keys
        self.failures = failures if failures is not None and failures.enabled else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        access = access_for(get_route_path(scope))
        client = (scope.get("client") or ("desconocido", 0))[0]
        if self.failures is not None and self.keys.needs_key(access):
            wait = self.failures.blocked(client)
            if wait is not None:
                await _auth_limited(scope, receive, send, wait)
                return
        outcome = authorize(self.keys, access, Headers(scope=scope), client)
        if isinstance(outcome, tuple):
            status, detail = outcome
            if self.failures is not None and detail == INVALID:
                wait = await self.failures.failed(client)
                if wait is not None:
                    log.warning("failed authentications past the limit; address blocked")
                    await _auth_limited(scope, receive, send, wait)
                    return
            log.debug("request refused by auth", extra={"status": status, "access": access})
            await send_error(
                scope, receive, send, status, detail, CHALLENGE if status == 401 else None
            )
            return
        scope[IDENTITY_SCOPE_KEY] = outcome
        await self.app(scope, receive, send)


async def _auth_limited(scope: Scope, receive: Receive, send: Send, wait: int) -> None:
    detail = AUTH_LIMITED.format(seconds=wait)
    await send_error(scope, receive, send, 429, detail, {"Retry-After": str(wait)})
