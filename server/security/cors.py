"""CORS from the CORS_ORIGINS allowlist (none by default), never `*` with credentials."""

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server.security.asgi import services_of

REFUSED = "Solicitud CORS no permitida: el origen, el método o las cabeceras no están autorizados"
ALLOWED_METHODS = ("GET", "POST", "OPTIONS")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-API-Key")


class SpanishCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, with a refused preflight answered as `{"detail": ...}`."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-type")
        }
        return JSONResponse({"detail": REFUSED}, status_code=400, headers=headers)


def build_cors(app: ASGIApp, origins: list[str]) -> ASGIApp:
    """The CORS layer for these origins (the app itself when the allowlist is empty)."""
    if not origins:
        return app
    return SpanishCORSMiddleware(
        app,
        allow_origins=["*"] if "*" in origins else origins,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=False,
        expose_headers=["Retry-After"],
        max_age=600,
    )


class CORSGate:
    """Applies the CORS settings of the running app (settings are only known in its lifespan)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._built: tuple[object, ASGIApp] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = services_of(scope)
        if scope["type"] != "http" or services is None:
            await self.app(scope, receive, send)
            return
        settings = services.settings
        if self._built is None or self._built[0] is not settings:
            self._built = (settings, build_cors(self.app, list(settings.CORS_ORIGINS)))
        await self._built[1](scope, receive, send)
