"""The deterministic Spanish sales dialogue of the venta chat tool: prices, cart, order."""

from __future__ import annotations

import re
from typing import Any

from mcp.server.fastmcp.exceptions import ToolError

from mcp_agents.common.dialogue import (
    bot_name,
    has_any,
    is_greeting_only,
    is_thanks,
    parse_name,
    parse_phone,
    run_dialogue,
    wants_reset,
)
from mcp_agents.common.sessions import DialogueMemory
from mcp_agents.common.text import NUMBER_PATTERN, Option, best_matches, join_es, normalize, to_int

from .models import Cotizacion, ItemPedido
from .store import DELIVERY_CENTIMOS, Shop

ORDER = re.compile(
    r"\b(quiero|quisiera|dame|deme|denme|me das?|agreg\w*|anad\w*|ponme|pon|pedir|"
    r"comprar|compro|llevo|mandame|necesito|suma\w*|tambien|por favor)\b"
)
SPLIT = re.compile(r"[,;+]|\by\b|\bmas\b|\be\b|\bademas\b")
ADDRESS = re.compile(
    r"(?:direcci[oó]n(?:\s+es)?|env[ií]a(?:lo|melo)?\s+a|delivery\s+a|"
    r"ll[eé]va(?:lo|melo)?\s+a|entr[eé]ga(?:lo|melo)?\s+en)\s*:?\s*(.{4,200})$",
    re.IGNORECASE,
)
HELP = (
    "Puedo darte precios y tomar tu pedido. Por ejemplo: «¿cuánto cuesta el capuccino?» o "
    "«quiero 2 empanadas de pollo»."
)


def parse_items(text: str, options: list[Option]) -> list[tuple[int, list[Option]]]:
    """(quantity, matching products) for each product named in a free text."""
    found = []
    for chunk in SPLIT.split(ORDER.sub(" ", normalize(text))):
        chunk = chunk.strip(" .!?¿¡")
        m = re.match(rf"^(?:(?:el|la|los|las)\s+)?({NUMBER_PATTERN})\s+(.+)$", chunk)
        qty, rest = (to_int(m[1]) or 0, m[2]) if m else (1, chunk)
        if rest and (matches := best_matches(rest, options)):
            found.append((qty, matches))
    return found


def cart_text(quote: Cotizacion) -> str:
    lines = [
        f"- {i.cantidad} × {i.producto} ({i.precio_unitario} c/u): {i.subtotal}"
        for i in quote.items
    ]
    return "\n".join(lines) + f"\nTotal: {quote.total}"


class SalesChat:
    """Answers prices, keeps a cart per session and turns it into an order."""

    def __init__(self, shop: Shop, store: DialogueMemory) -> None:
        self.shop, self.store = shop, store

    def reply(self, message: str, session_id: str, context: dict[str, Any] | None) -> str:
        return run_dialogue(
            self.store,
            session_id,
            message,
            lambda state, msg: self._step(state, msg, context),
            HELP,
        )

    def _catalog(self) -> str:
        return "\n".join(f"- {p.nombre}: {p.precio}" for p in self.shop.products())

    def _step(self, state: dict[str, Any], message: str, context: dict[str, Any] | None) -> str:
        norm, cart = normalize(message), state.setdefault("carrito", [])
        if m := ADDRESS.search(message):
            state["direccion"] = m[1].strip(" .")
        if phone := parse_phone(message):
            state["telefono"] = phone
        if wants_reset(norm) or (cart and has_any(norm, "cancel", "vaci", "borra")):
            state.update(carrito=[], esperando=None, pendiente=None)
            return "Listo, vacié tu pedido. ¿Te ayudo con algo más?"
        if not cart and is_greeting_only(message):
            return f"¡Hola! Soy {bot_name(context)}. {HELP}"
        if not cart and is_thanks(message):
            return "¡Con gusto! Aquí estoy si necesitas algo más."
        options = self.shop.options()
        pending = state.get("pendiente")
        if (
            pending
            and (
                picked := best_matches(
                    message, [o for o in options if o.key in pending["opciones"]]
                )
            )
            and len(picked) == 1
        ):
            state["pendiente"] = None
            return self._add(state, [(pending["cantidad"], picked)], None)
        items = parse_items(message, options)
        name = parse_name(message, expecting=state.get("esperando") == "nombre" and not items)
        if has_any(norm, "cuanto", "precio", "cuesta", "vale", "costo") and not ORDER.search(norm):
            if not items and has_any(norm, "delivery", "envio"):
                return (
                    f"El delivery cuesta S/ {DELIVERY_CENTIMOS / 100:.2f} "
                    "y se suma al total del pedido."
                )
            if not items and cart:
                return "Tu pedido va así:\n" + cart_text(self.shop.quote(self._items(cart)))
            if not items:
                return f"¿De qué producto quieres saber el precio? Tenemos:\n{self._catalog()}"
            prices = {p.sku: p for p in self.shop.products()}
            named = [prices[o.key] for _, found in items for o in found]
            return (
                "\n".join(f"{p.nombre} cuesta {p.precio}." for p in named) + " ¿Te separo alguno?"
            )
        if items:
            return self._add(state, items, name)
        if has_any(norm, "catalogo", "carta", "menu", "que tienen", "que venden", "producto"):
            return f"Esto es lo que tenemos:\n{self._catalog()}\n¿Qué te gustaría pedir?"
        if cart and name:
            return self._order(state, name)
        if cart:
            state["esperando"] = "nombre"
            return (
                "Tu pedido va así:\n"
                + cart_text(self.shop.quote(self._items(cart)))
                + "\n¿A nombre de quién lo registro?"
            )
        return HELP

    @staticmethod
    def _items(cart: list[dict[str, Any]]) -> list[ItemPedido]:
        return [ItemPedido(producto=i["producto"], cantidad=i["cantidad"]) for i in cart]

    def _add(
        self, state: dict[str, Any], items: list[tuple[int, list[Option]]], name: str | None
    ) -> str:
        cart = [dict(i) for i in state["carrito"]]
        for qty, found in items:
            if qty < 1:
                return "La cantidad debe ser al menos 1. ¿Cuántas unidades quieres?"
            if len(found) > 1:
                state["pendiente"] = {"cantidad": qty, "opciones": [o.key for o in found]}
                return f"¿Cuál prefieres: {join_es([o.name for o in found], 'o')}?"
            line = next((i for i in cart if i["producto"] == found[0].key), None)
            if line:
                line["cantidad"] += qty
            else:
                cart.append({"producto": found[0].key, "cantidad": qty})
        try:
            quote = self.shop.quote(self._items(cart))
        except ToolError as exc:
            return f"{exc} ¿Quieres otra cantidad?"
        state.update(carrito=cart, esperando="nombre")
        if name:
            return self._order(state, name)
        delivery = (
            "" if state.get("direccion") else " Si quieres delivery, indícame también tu dirección."
        )
        return f"Tu pedido:\n{cart_text(quote)}\n¿A nombre de quién lo registro?{delivery}"

    def _order(self, state: dict[str, Any], name: str) -> str:
        try:
            order = self.shop.create_order(
                self._items(state["carrito"]),
                name,
                state.get("telefono", ""),
                state.get("direccion", ""),
            )
        except ToolError as exc:
            return f"{exc} ¿Quieres cambiar algo del pedido?"
        state.update(carrito=[], esperando=None, pendiente=None, ultimo_codigo=order.codigo)
        where = (
            f"delivery a {order.direccion} (incluye {order.delivery})"
            if order.direccion
            else "para recoger en tienda"
        )
        return (
            f"¡Gracias, {order.nombre_cliente}! "
            f"Registré tu pedido {order.codigo} por {order.total}, "
            f"{where}."
        )
