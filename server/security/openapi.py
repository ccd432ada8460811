"""Adds the keys, 401/403/413/429 answers and security schemes to the OpenAPI document."""

from typing import Any

from fastapi import FastAPI

from server.schemas import ErrorResponse
from server.security.auth import KeyRing
from server.security.policy import access_for, is_rate_limited

SCHEMES = {
    "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "BearerAuth": {"type": "http", "scheme": "bearer"},
}
_ERROR = {
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
}
_DESCRIPTIONS = {
    400: "Solicitud no válida",
    401: "Falta la clave de API o no es válida",
    403: "La clave no tiene permiso de administración",
    413: "El cuerpo de la solicitud es demasiado grande",
    429: "Límite de solicitudes superado (ver Retry-After)",
    500: "Error interno (el detalle incluye un id para buscar en los registros)",
}


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _DESCRIPTIONS[status], **_ERROR}
    if status == 429:
        response["headers"] = {
            "Retry-After": {
                "description": "Segundos que hay que esperar",
                "schema": {"type": "integer"},
            }
        }
    return response


def decorate(
    schema: dict[str, Any], *, chat_open: bool, admin_open: bool, auth_limited: bool = False
) -> None:
    """Mark protected operations and declare the answers the security layer can give
    (`auth_limited`: protected operations may answer 429 past AUTH_FAILURES_PER_MINUTE)."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault(
        "ErrorResponse", ErrorResponse.model_json_schema()
    )
    if not (chat_open and admin_open):
        components["securitySchemes"] = dict(SCHEMES)
    for name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        access = access_for(path)
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # validation errors are 400 here, never 422
            if (access == "chat" and not chat_open) or (access == "admin" and not admin_open):
                operation["security"] = [{"ApiKeyHeader": []}, {"BearerAuth": []}]
                responses.setdefault("401", _error(401))
                if access == "admin":
                    responses.setdefault("403", _error(403))
                if auth_limited:
                    responses.setdefault("429", _error(429))
            if is_rate_limited(path):
                responses.setdefault("429", _error(429))
            responses.setdefault("500", _error(500))
            if "requestBody" in operation:
                responses.setdefault("413", _error(413))
                responses.setdefault("400", _error(400))


def document_security(app: FastAPI, keys: KeyRing, *, auth_limited: bool = False) -> None:
    """Wrap app.openapi so the document, built and decorated once, shows the app's keys."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base()  # FastAPI builds it and caches it in app.openapi_schema
            decorate(
                schema,
                chat_open=keys.chat_open,
                admin_open=keys.admin_open,
                auth_limited=auth_limited,
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
