"""The cita MCP server: appointment tools and the conversational `chat` tool."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mcp_agents.common.booking import BookingKind
from mcp_agents.common.booking_chat import BookingWords
from mcp_agents.common.booking_models import Comprobante
from mcp_agents.common.booking_server import (
    BookingAgent,
    Fecha,
    Hora,
    Nombre,
    Servicio,
    Telefono,
    build_booking_server,
)
from mcp_agents.common.dates import lima_now
from mcp_agents.common.server import AgentServer, in_thread

from .catalog import SERVICES

AGENT = BookingAgent(
    name="cita",
    kind=BookingKind(table="citas", noun="cita", code_prefix="C"),
    words=BookingWords(noun="cita", verb="agendar", asks_people=False, can_reschedule=True),
    seeds=SERVICES,
    instructions="Agente de citas con profesionales: consulta dental, nutrición, asesoría contable "
    "y demo del sistema. Fechas AAAA-MM-DD y horas HH:MM (hora de Lima).",
)
Codigo = Annotated[str, Field(description="Código de la cita, p. ej. CKM482")]


def build_server(
    db_path: str, *, host: str = "127.0.0.1", allow_any_host: bool = False
) -> AgentServer:
    """The cita server over the SQLite file `db_path` (created and seeded if needed)."""
    server, book = build_booking_server(AGENT, db_path, host=host, allow_any_host=allow_any_host)

    @server.tool()
    async def agendar_cita(
        servicio: Servicio,
        fecha: Fecha,
        hora: Hora,
        nombre_cliente: Nombre,
        telefono: Telefono = "",
        profesional: Annotated[str, Field(description="Profesional preferido, opcional")] = "",
    ) -> Comprobante:
        """Agenda una cita confirmada y devuelve su código (p. ej. CKM482).

        La hora debe ser un inicio de turno libre (ver consultar_disponibilidad). Sin profesional
        se asigna el primero libre a esa hora.
        """
        return await in_thread(
            book.create, servicio, fecha, hora, nombre_cliente, telefono, 1, lima_now(), profesional
        )

    @server.tool()
    async def reprogramar_cita(codigo: Codigo, fecha: Fecha, hora: Hora) -> Comprobante:
        """Mueve una cita confirmada a otra fecha (AAAA-MM-DD) y hora de inicio (HH:MM) libres."""
        return await in_thread(book.reschedule, codigo, fecha, hora, lima_now())

    return server
