"""Tool-server test agent: an MCP server with two booking tools and no `chat` tool."""

from __future__ import annotations

import json
from typing import Any

from harness.agent_common import McpTestAgentState, make_parser, make_server, serve

SERVICES = [
    {"servicio": "Corte de cabello", "duracion_min": 30, "precio": 25.0},
    {"servicio": "Manicure", "duracion_min": 45, "precio": 35.0},
]


def build(args: Any) -> tuple[Any, McpTestAgentState]:
    """The FastMCP server with `listar_servicios` and `crear_reserva` (bookings kept in memory)."""
    mcp, state = make_server(args)

    @mcp.tool()
    async def listar_servicios() -> str:
        """Lista los servicios disponibles con su duración y precio."""
        return await state.run_tool(
            "listar_servicios", {}, lambda: json.dumps(SERVICES, ensure_ascii=False)
        )

    @mcp.tool()
    async def crear_reserva(servicio: str, fecha: str, hora: str, nombre_cliente: str) -> str:
        """Crea una reserva del servicio para el cliente en la fecha (AAAA-MM-DD) y hora (HH:MM)."""
        arguments = {
            "servicio": servicio,
            "fecha": fecha,
            "hora": hora,
            "nombre_cliente": nombre_cliente,
        }

        def produce() -> str:
            bookings = state.memory.setdefault("reservas", [])
            bookings.append(nombre_cliente)
            return (
                f"Reserva confirmada: {servicio} el {fecha} a las {hora} para {nombre_cliente}. "
                f"Código R-{len(bookings):04d}."
            )

        return await state.run_tool("crear_reserva", arguments, produce)

    return mcp, state


def main() -> None:
    args = make_parser(__doc__ or "").parse_args()
    mcp, state = build(args)
    serve(mcp, state, args.host, args.port)


if __name__ == "__main__":
    main()
