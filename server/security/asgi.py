"""Helpers for the security middleware: reach the app's Services, answer `{"detail": ...}`."""

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

STARTING = "El servicio se está iniciando; inténtalo de nuevo en unos segundos."


def services_of(scope: Scope) -> Any | None:
    """The Services built by the app's lifespan (None before it ran)."""
    app = scope.get("app")
    return getattr(getattr(app, "state", None), "services", None)


async def send_error(scope: Scope, receive: Receive, send: Send, status: int, detail: str,
                     headers: dict[str, str] | None = None) -> None:
    """Answer this request with the API's error body."""
    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(
        scope, receive, send)
