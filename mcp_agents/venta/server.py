"""The venta MCP server: product search, quotes, orders and the conversational `chat` tool."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from mcp_agents.common.server import AgentServer, build_agent_server, in_thread
from mcp_agents.common.sessions import DialogueMemory

from .chat import SalesChat
from .models import Busqueda, Cotizacion, ItemPedido, Pedido
from .store import Shop

INSTRUCTIONS = (
    "Agente de ventas de una cafetería y pastelería de Lima: busca productos, da precios "
    "en soles (S/), cotiza y registra pedidos con recojo en tienda o delivery."
)
Items = Annotated[
    list[ItemPedido],
    Field(description='Productos y cantidades, p. ej. [{"producto": "Capuccino", "cantidad": 2}]'),
]


def build_server(
    db_path: str, *, host: str = "127.0.0.1", allow_any_host: bool = False
) -> AgentServer:
    """The venta server over the SQLite file `db_path` (created and seeded if needed)."""
    shop = Shop(db_path)
    shop.init()
    store = DialogueMemory(db_path)
    store.init()
    dialogue = SalesChat(shop, store)
    server = build_agent_server("venta", INSTRUCTIONS, host=host, allow_any_host=allow_any_host)

    @server.tool()
    async def buscar_productos(
        texto: Annotated[
            str,
            Field(
                description="Palabras a buscar, p. ej. 'empanada' o 'café'; "
                "vacío para ver todo el catálogo"
            ),
        ] = "",
    ) -> Busqueda:
        """Busca productos por nombre, categoría o palabra clave; devuelve precio en soles
        y stock."""
        return await in_thread(shop.search, texto)

    @server.tool()
    async def cotizar(items: Items) -> Cotizacion:
        """Calcula el precio de una lista de productos (sin registrar nada).
        Delivery: S/ 5.00 aparte."""
        return await in_thread(shop.quote, items)

    @server.tool()
    async def crear_pedido(
        items: Items,
        nombre_cliente: Annotated[str, Field(description="Nombre del cliente")],
        telefono: Annotated[str, Field(description="Celular de contacto, opcional")] = "",
        direccion: Annotated[
            str, Field(description="Dirección para delivery; vacío = recojo en tienda")
        ] = "",
    ) -> Pedido:
        """Registra un pedido (descuenta stock) y devuelve su código (p. ej. VKM482) y el total.

        Con dirección se agrega delivery de S/ 5.00; sin dirección es recojo en tienda.
        """
        return await in_thread(shop.create_order, items, nombre_cliente, telefono, direccion)

    @server.tool()
    async def chat(message: str, session_id: str, context: dict[str, Any] | None = None) -> str:
        """Conversa con el cliente en español: precios, armar el pedido y registrarlo.

        message: el texto del cliente tal cual. session_id: la conversación (la memoria se guarda
        por session_id). context: {"session_id": ..., "config": {...}}; config.nombre_bot se usa
        para presentarse.
        """
        return await in_thread(dialogue.reply, message, session_id, context)

    return server
