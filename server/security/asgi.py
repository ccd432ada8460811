"""Helpers for the security middleware: reach the app's Services, answer `{"detail": ...}`."""

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

STARTING = "El servicio se está iniciando; inténtalo de nuevo en unos segundos."


def services_of(scope: Scope) -> Any | None:
    """The Services built by the app's lifespan (None before it ran)."""
    app = scope.get("app")
    return getattr(getattr(app, "state", None), "services", None)


async def send_error(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer this request with the API's error body."""
    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(
        scope, receive, send
    )


class ServicesMiddleware:
    """Base of the HTTP middlewares that need the app's Services: non-HTTP scopes pass through,
    and a request before the lifespan has built the Services gets a Spanish 503."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services = services_of(scope)
        if services is None:
            await send_error(scope, receive, send, 503, STARTING)
            return
        await self.handle(scope, receive, send, services)

    async def handle(self, scope: Scope, receive: Receive, send: Send, services: Any) -> None:
        """Process one HTTP request with the app's Services."""
        raise NotImplementedError
