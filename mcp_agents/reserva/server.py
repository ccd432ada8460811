"""The reserva MCP server: booking tools and the conversational `chat` tool."""

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
    name="reserva",
    kind=BookingKind(table="reservas", noun="reserva", code_prefix="R"),
    words=BookingWords(noun="reserva", verb="reservar", asks_people=True, can_reschedule=False),
    seeds=SERVICES,
    instructions="Agente de reservas de espacios y turnos: mesas del restaurante, cancha de "
    "fútbol, masajes y sala de reuniones. Fechas AAAA-MM-DD y horas HH:MM (hora de Lima).",
)


def build_server(
    db_path: str, *, host: str = "127.0.0.1", allow_any_host: bool = False
) -> AgentServer:
    """The reserva server over the SQLite file `db_path` (created and seeded if needed)."""
    server, book = build_booking_server(AGENT, db_path, host=host, allow_any_host=allow_any_host)

    @server.tool()
    async def crear_reserva(
        servicio: Servicio,
        fecha: Fecha,
        hora: Hora,
        nombre_cliente: Nombre,
        telefono: Telefono = "",
        personas: Annotated[int, Field(description="Cantidad de personas, entero mayor que 0")] = 1,
    ) -> Comprobante:
        """Crea una reserva confirmada y devuelve su código (p. ej. RKM482).

        La hora debe ser un inicio de turno libre (ver consultar_disponibilidad) y las personas no
        pueden superar la capacidad del servicio (p. ej. Mesa para 4: hasta 4).
        """
        return await in_thread(
            book.create, servicio, fecha, hora, nombre_cliente, telefono, personas, lima_now()
        )

    return server
