"""CORS from the CORS_ORIGINS allowlist (none by default), never `*` with credentials."""

from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

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


def cors_options(origins: list[str]) -> dict[str, Any]:
    """SpanishCORSMiddleware's constructor arguments for this allowlist."""
    return {
        "allow_origins": ["*"] if "*" in origins else list(origins),
        "allow_methods": ALLOWED_METHODS,
        "allow_headers": ALLOWED_HEADERS,
        "allow_credentials": False,
        "expose_headers": ["Retry-After"],
        "max_age": 600,
    }
