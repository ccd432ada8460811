"""413 for bodies over MAX_BODY_BYTES (Content-Length or counted chunked bytes), before parsing."""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.security.asgi import send_error

TOO_LARGE = "El cuerpo de la solicitud es demasiado grande (máximo {limit} bytes)"
BAD_LENGTH = "La cabecera Content-Length no es válida"


class BodyLimitMiddleware:
    """Reads (and replays) the body up to `limit` bytes; anything larger never reaches the app."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if length is not None:
            if not length.strip().isdigit():
                await send_error(scope, receive, send, 400, BAD_LENGTH)
                return
            if int(length) > limit:
                await _too_large(scope, receive, send, limit)
                return
        if not chunked and not (length and int(length) > 0):
            await self.app(scope, receive, send)  # no body to count
            return
        body, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending the whole body
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                await _too_large(scope, receive, send, limit)
                return
            body.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(body), receive), send)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    await send_error(
        scope, receive, send, 413, TOO_LARGE.format(limit=limit), {"Connection": "close"}
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the buffered body once, then defers to the server (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
