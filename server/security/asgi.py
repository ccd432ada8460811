"""Helper for the security middleware: answer a request with `{"detail": ...}`."""

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send


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
