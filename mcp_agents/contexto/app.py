"""The business-context HTTP app: POST / or /contexto with codOpe OBTENER_CONTEXTO_NEGOCIO."""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .texts import context_for

OPERATION = "OBTENER_CONTEXTO_NEGOCIO"


def _error(message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=400)


def _company_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value > 0 else None


async def contexto(request: Request) -> JSONResponse:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return _error("El cuerpo de la solicitud debe ser un JSON válido.")
    if not isinstance(body, dict):
        return _error("El cuerpo de la solicitud debe ser un objeto JSON.")
    if body.get("codOpe") != OPERATION:
        return _error(f"Operación no soportada: el campo 'codOpe' debe ser '{OPERATION}'.")
    company = _company_id(body.get("id_empresa"))
    if company is None:
        return _error("El campo 'id_empresa' debe ser un número entero mayor a 0.")
    return JSONResponse({"success": True, "contexto_negocio": context_for(company)})


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "agent": "contexto"})


def build_app() -> Starlette:
    """A fresh app (no shared state)."""
    return Starlette(
        routes=[
            Route("/", contexto, methods=["POST"]),
            Route("/contexto", contexto, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
