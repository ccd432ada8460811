"""Tools common to the booking agents (catalogue, availability, chat) on one FastMCP server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from .booking import BookingBook, BookingKind
from .booking_chat import BookingChat, BookingWords
from .booking_models import Catalogo, Comprobante, Disponibilidad, ServiceSeed
from .dates import lima_now
from .server import AgentServer, build_agent_server, in_thread
from .sessions import DialogueMemory

Fecha = Annotated[str, Field(description="Fecha en formato AAAA-MM-DD, p. ej. 2026-11-28")]
Hora = Annotated[
    str, Field(description="Hora de inicio HH:MM de 24 horas (hora de Lima), p. ej. 10:30")
]
Servicio = Annotated[str, Field(description="Nombre o id del servicio (ver listar_servicios)")]
Nombre = Annotated[str, Field(description="Nombre del cliente")]
Telefono = Annotated[str, Field(description="Celular de contacto, opcional (p. ej. 987654321)")]


@dataclass(frozen=True)
class BookingAgent:
    """Everything that defines one booking agent."""

    name: str
    kind: BookingKind
    words: BookingWords
    seeds: tuple[ServiceSeed, ...]
    instructions: str


def build_booking_server(
    agent: BookingAgent, db_path: str, *, host: str, allow_any_host: bool
) -> tuple[AgentServer, BookingBook]:
    """A server with listar_servicios, consultar_disponibilidad, cancelar_<noun> and chat over
    `db_path`; the agent adds its own create (and reschedule) tools."""
    book = BookingBook(db_path, agent.kind)
    book.init(agent.seeds)
    store = DialogueMemory(db_path)
    store.init()
    dialogue = BookingChat(book, store, agent.words)
    server = build_agent_server(
        agent.name, agent.instructions, host=host, allow_any_host=allow_any_host
    )

    @server.tool()
    async def listar_servicios() -> Catalogo:
        """Lista los servicios con su duración, capacidad, precio, horario de atención
        y quién atiende."""
        return Catalogo(servicios=await in_thread(book.service_infos))

    @server.tool()
    async def consultar_disponibilidad(fecha: Fecha, servicio: Servicio) -> Disponibilidad:
        """Horarios libres de un servicio en una fecha (AAAA-MM-DD), con quién está libre
        a cada hora.

        Úsalo antes de crear una reserva o cita: solo esas horas de inicio se pueden tomar.
        """
        return await in_thread(book.availability, servicio, fecha, lima_now())

    noun, example = agent.kind.noun, f"{agent.kind.code_prefix}KM482"
    Codigo = Annotated[str, Field(description=f"Código de la {noun}, p. ej. {example}")]

    async def cancel(codigo: str) -> Comprobante:
        return await in_thread(book.cancel, codigo)

    cancel.__annotations__ = {"codigo": Codigo, "return": Comprobante}  # a per-agent description

    server.tool(
        name=f"cancelar_{noun}",
        description=f"Cancela una {noun} confirmada por su código y libera el horario.",
    )(cancel)

    @server.tool()
    async def chat(message: str, session_id: str, context: dict[str, Any] | None = None) -> str:
        """Conversa con el cliente en español (reservar, agendar, reprogramar o cancelar).

        message: el texto del cliente tal cual. session_id: la conversación (la memoria se guarda
        por session_id). context: {"session_id": ..., "config": {...}}; config.fecha_iso
        (AAAA-MM-DD) se usa como la fecha de hoy y config.nombre_bot para presentarse.
        """
        return await in_thread(dialogue.reply, message, session_id, context)

    return server, book
