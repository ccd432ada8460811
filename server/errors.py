"""Error responses: validation errors as 400 with one Spanish detail, and no traceback ever."""

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.schemas import ID_EMPRESA, MSG_EMPTY, SESSION_EMPTY

log = logging.getLogger(__name__)

BUSY = (
    "La conversación está ocupada procesando mensajes anteriores; "
    "inténtalo de nuevo en unos segundos."
)
STORAGE_DOWN = (
    "El servicio de memoria de conversaciones no está disponible; "
    "inténtalo de nuevo en unos momentos."
)

_PRIORITY = ("message", "session_id", "id_empresa", "config.id_empresa")
_BY_TYPE = {
    "missing": "El campo '{field}' es obligatorio",
    "string_type": "El campo '{field}' debe ser un texto",
    "int_type": "El campo '{field}' debe ser un número entero",
    "int_parsing": "El campo '{field}' debe ser un número entero",
    "int_from_float": "El campo '{field}' debe ser un número entero",
    "model_type": "El campo '{field}' debe ser un objeto JSON",
    "model_attributes_type": "El campo '{field}' debe ser un objeto JSON",
    "dict_type": "El campo '{field}' debe ser un objeto JSON",
}
_STATUS_TEXT = {
    400: "El cuerpo de la solicitud debe ser un JSON válido",
    404: "Recurso no encontrado",
    405: "Método no permitido",
    413: "El cuerpo de la solicitud es demasiado grande",
}
# Details the framework itself writes in English; replaced by the Spanish text of their status.
_FRAMEWORK_DETAILS = {
    "Not Found",
    "Method Not Allowed",
    "There was an error parsing the body",
    "Request Entity Too Large",
    "Bad Request",
}


def _field(loc: Sequence[Any]) -> str:
    parts = [str(part) for part in loc if part != "body"]
    return ".".join(parts)


def validation_detail(errors: Sequence[dict[str, Any]]) -> str:
    """One Spanish sentence for the most important validation error."""
    if not errors:
        return "La solicitud no es válida"
    ranked = sorted(errors, key=lambda err: _rank(_field(err.get("loc", ()))))
    err = ranked[0]
    field, kind = _field(err.get("loc", ())), err.get("type", "")
    if kind in ("detail", "id_empresa"):  # rules that wrote their own Spanish sentence
        return str(err.get("msg"))
    if kind in ("json_invalid", "json_type") or (kind == "missing" and not field):
        return "El cuerpo de la solicitud debe ser un JSON válido"
    if field == "config.id_empresa":
        return ID_EMPRESA
    if kind == "empty" or (
        field in ("message", "session_id") and err.get("input") is None and kind != "missing"
    ):
        return MSG_EMPTY if field == "message" else SESSION_EMPTY
    if kind in ("flag",):
        return f"El campo '{field}' {err.get('msg')}"
    if not field:
        return "El cuerpo de la solicitud debe ser un objeto JSON"
    template = _BY_TYPE.get(kind, "El campo '{field}' tiene un valor no válido")
    return template.format(field=field)


def _rank(field: str) -> int:
    return _PRIORITY.index(field) if field in _PRIORITY else len(_PRIORITY)


def error_id() -> str:
    """A short id that ties a client's 500 to the server's log line."""
    return uuid.uuid4().hex[:12]


class ApiError(Exception):
    """An error the service answers on purpose, with its status and Spanish detail."""

    def __init__(
        self, status_code: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers


def install_error_handlers(app: FastAPI) -> None:
    """400 for validation (never 422), Spanish details for HTTP errors, opaque 500s."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else None
        if detail is None or detail in _FRAMEWORK_DETAILS:
            detail = _STATUS_TEXT.get(exc.status_code, "Error en la solicitud")
        return JSONResponse(
            {"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        ref = error_id()
        log.error("unexpected error", exc_info=exc, extra={"error_id": ref})
        return JSONResponse({"detail": f"Error interno del servidor (id: {ref})"}, status_code=500)
