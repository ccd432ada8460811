"""GET /playground: a page served by the service to try a bot configuration in the browser."""

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from server.errors import ApiError
from server.routes.dependencies import ServicesDep
from server.services import Services

STATIC = Path(__file__).resolve().parent.parent / "static" / "playground"
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "demo-config.json": "application/json",
}
NOT_FOUND = "Recurso no encontrado"
# The page loads nothing from elsewhere; attachments (`url`) may be images on any host.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data: http: https:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(prefix="/playground", tags=["playground"], include_in_schema=False)


def _check_enabled(services: Services) -> None:
    if not services.settings.PLAYGROUND_ENABLED:
        raise ApiError(404, NOT_FOUND)


@router.get("")
async def page(services: ServicesDep) -> FileResponse:
    """The playground page (PLAYGROUND_ENABLED=false: 404)."""
    _check_enabled(services)
    return FileResponse(
        STATIC / "index.html", media_type="text/html; charset=utf-8", headers=HEADERS
    )


@router.get("/setup.json")
async def setup(services: ServicesDep) -> dict[str, Any]:
    """Which keys the page must ask for (whether keys are on is no secret: a 401 says as much),
    and whether messages typed during a turn join its burst (DOUBLE_TEXTING)."""
    _check_enabled(services)
    keys = services.security.keys
    return {
        "chat_key_required": not keys.chat_open,
        "admin_key_required": not keys.admin_open,
        "double_texting": services.settings.DOUBLE_TEXTING,
    }


@router.get("/{asset}")
async def asset(asset: str, services: ServicesDep) -> FileResponse:
    """The page's script, style sheet and the demo bot configuration (a fixed list of files)."""
    _check_enabled(services)
    if asset not in ASSETS:
        raise ApiError(404, NOT_FOUND)
    return FileResponse(STATIC / asset, media_type=ASSETS[asset], headers=HEADERS)
