"""FastMCP bootstrap for the agents: Spanish tool errors, host checks, /health, thread offload."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

import anyio.to_thread
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ContentBlock
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
T = TypeVar("T")
log = logging.getLogger("mcp_agents")

_ERRORS_ES: Mapping[str, str] = MappingProxyType(
    {
        "missing": "es obligatorio",
        "int_parsing": "debe ser un número entero",
        "int_type": "debe ser un número entero",
        "int_from_float": "debe ser un número entero",
        "string_type": "debe ser texto",
        "list_type": "debe ser una lista",
        "dict_type": "debe ser un objeto",
        "model_type": "debe ser un objeto",
        "model_attributes_type": "debe ser un objeto",
        "bool_type": "debe ser verdadero o falso",
        "bool_parsing": "debe ser verdadero o falso",
        "greater_than": "debe ser mayor que {gt}",
        "greater_than_equal": "debe ser mayor o igual que {ge}",
        "less_than_equal": "debe ser menor o igual que {le}",
        "too_short": "no puede estar vacío",
    }
)


def spanish_validation_error(exc: ValidationError) -> str:
    """Pydantic argument errors as one Spanish sentence naming each field."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"] if p not in ("str", "int")) or "argumentos"
        text = _ERRORS_ES.get(err["type"], "no tiene un valor válido")
        with contextlib.suppress(KeyError, IndexError):
            text = text.format(**(err.get("ctx") or {}))
        parts.append(f"'{where}' {text}")
    return "Datos inválidos: " + "; ".join(parts) + "."


class AgentServer(FastMCP):
    """FastMCP whose tool errors reach the client as plain Spanish text (isError=True)."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any]
    ) -> Sequence[ContentBlock] | dict[str, Any]:
        try:
            return await super().call_tool(name, arguments)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ToolError):
                raise cause from None
            if isinstance(cause, ValidationError):
                raise ToolError(spanish_validation_error(cause)) from None
            if cause is None:
                raise ToolError(f"La herramienta '{name}' no existe.") from None
            log.error("tool %s failed: %r", name, cause, exc_info=cause)
            raise ToolError(
                f"Ocurrió un error interno al ejecutar '{name}'. Inténtalo de nuevo."
            ) from None


def transport_security(host: str, allow_any_host: bool) -> TransportSecuritySettings:
    """DNS-rebinding protection only for a loopback bind without --allow-any-host."""
    if allow_any_host or host not in LOOPBACK_HOSTS:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


def build_agent_server(
    agent: str, instructions: str, *, host: str = "127.0.0.1", allow_any_host: bool = False
) -> AgentServer:
    """An agent server at /mcp with a GET /health route."""
    server = AgentServer(
        name=agent,
        instructions=instructions,
        host=host,
        transport_security=transport_security(host, allow_any_host),
    )

    @server.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "agent": agent})

    return server


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking (SQLite) function in a worker thread."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
