"""Products, quotes and orders of the venta agent in its SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from mcp.server.fastmcp.exceptions import ToolError

from mcp_agents.common.booking_models import money
from mcp_agents.common.checks import clean_name, clean_phone
from mcp_agents.common.db import init_db, new_code, reading, timestamp, transaction
from mcp_agents.common.text import Option, best_matches, join_es, ranked_matches

from .catalog import PRODUCTS
from .models import Busqueda, Cotizacion, ItemPedido, LineaCotizacion, Pedido, ProductoInfo

DELIVERY_CENTIMOS = 500
MAX_ITEMS = 30
SCHEMA = """
CREATE TABLE IF NOT EXISTS productos (sku TEXT PRIMARY KEY, nombre TEXT NOT NULL UNIQUE,
    descripcion TEXT NOT NULL, categoria TEXT NOT NULL,
    precio_centimos INTEGER NOT NULL CHECK (precio_centimos >= 0),
    stock INTEGER NOT NULL CHECK (stock >= 0), palabras_clave TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS pedidos (id INTEGER PRIMARY KEY, codigo TEXT NOT NULL UNIQUE,
    nombre_cliente TEXT NOT NULL, telefono TEXT NOT NULL, direccion TEXT NOT NULL,
    subtotal_centimos INTEGER NOT NULL, delivery_centimos INTEGER NOT NULL,
    total_centimos INTEGER NOT NULL, estado TEXT NOT NULL DEFAULT 'registrado',
    creado_en TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pedido_items (pedido_id INTEGER NOT NULL REFERENCES pedidos(id),
    sku TEXT NOT NULL REFERENCES productos(sku), cantidad INTEGER NOT NULL CHECK (cantidad > 0),
    precio_unitario_centimos INTEGER NOT NULL, subtotal_centimos INTEGER NOT NULL);
"""


def _seed(tx: sqlite3.Connection) -> None:
    for p in PRODUCTS:
        tx.execute(
            "INSERT INTO productos VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                p.sku,
                p.nombre,
                p.descripcion,
                p.categoria,
                p.precio_centimos,
                p.stock,
                " ".join(p.palabras_clave),
            ),
        )


def _info(row: sqlite3.Row) -> ProductoInfo:
    return ProductoInfo(
        sku=row["sku"],
        nombre=row["nombre"],
        descripcion=row["descripcion"],
        categoria=row["categoria"],
        precio=money(row["precio_centimos"]),
        precio_soles=row["precio_centimos"] / 100,
        stock=row["stock"],
    )


class Shop:
    """The product catalogue and the orders of one SQLite file."""

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path

    def init(self) -> None:
        init_db(self.db_path, SCHEMA, _seed, "productos")

    def products(self, conn: sqlite3.Connection | None = None) -> list[ProductoInfo]:
        if conn is not None:
            return [_info(r) for r in conn.execute("SELECT * FROM productos ORDER BY rowid")]
        with reading(self.db_path) as own:
            return self.products(own)

    def options(self) -> list[Option]:
        """Products as matchable options (SKU, name, keywords)."""
        with reading(self.db_path) as conn:
            return [
                Option(r["sku"], r["nombre"], tuple(r["palabras_clave"].split()))
                for r in conn.execute("SELECT * FROM productos ORDER BY rowid")
            ]

    def search(self, texto: str) -> Busqueda:
        everything = {p.sku: p for p in self.products()}
        if not (texto or "").strip():
            return Busqueda(productos=list(everything.values()), mensaje="Catálogo completo.")
        found = [everything[o.key] for o in ranked_matches(texto, self.options())]
        msg = (
            f"{len(found)} producto(s) para '{texto}'."
            if found
            else f"No encontramos productos para '{texto}'. Categorías: "
            f"{join_es(sorted({p.categoria for p in everything.values()}))}."
        )
        return Busqueda(productos=found, mensaje=msg)

    def resolve(self, producto: str) -> str:
        """The SKU named by `producto`, else a Spanish ToolError (unknown or ambiguous)."""
        found = best_matches(producto or "", self.options())
        if not found:
            raise ToolError(
                f"No encontramos el producto '{producto}'. "
                "Usa buscar_productos para ver el catálogo."
            )
        if len(found) > 1:
            raise ToolError(
                f"'{producto}' puede ser {join_es([o.name for o in found], 'o')}. Indica cuál."
            )
        return found[0].key

    def _lines(
        self, conn: sqlite3.Connection, items: Sequence[ItemPedido]
    ) -> list[tuple[sqlite3.Row, int]]:
        """(product row, quantity) per distinct product, after every check."""
        if not items:
            raise ToolError(
                "El pedido no tiene productos. Indica al menos un producto y su cantidad."
            )
        if len(items) > MAX_ITEMS:
            raise ToolError(f"Un pedido admite hasta {MAX_ITEMS} productos distintos.")
        wanted: dict[str, int] = {}
        for item in items:
            if item.cantidad <= 0:
                raise ToolError(f"La cantidad de '{item.producto}' debe ser mayor que 0.")
            sku = self.resolve(item.producto)
            wanted[sku] = wanted.get(sku, 0) + item.cantidad
        lines = []
        for sku, qty in wanted.items():
            row = conn.execute("SELECT * FROM productos WHERE sku = ?", (sku,)).fetchone()
            if qty > row["stock"]:
                raise ToolError(
                    f"Solo tenemos {row['stock']} unidades de {row['nombre']}; pediste {qty}."
                )
            lines.append((row, qty))
        return lines

    @staticmethod
    def _shown(lines: list[tuple[sqlite3.Row, int]]) -> tuple[list[LineaCotizacion], int]:
        shown = [
            LineaCotizacion(
                sku=row["sku"],
                producto=row["nombre"],
                cantidad=qty,
                precio_unitario=money(row["precio_centimos"]),
                subtotal=money(row["precio_centimos"] * qty),
                subtotal_soles=row["precio_centimos"] * qty / 100,
            )
            for row, qty in lines
        ]
        return shown, sum(row["precio_centimos"] * qty for row, qty in lines)

    def quote(self, items: Sequence[ItemPedido]) -> Cotizacion:
        with reading(self.db_path) as conn:
            lines, total = self._shown(self._lines(conn, items))
        return Cotizacion(
            items=lines,
            total=money(total),
            total_soles=total / 100,
            mensaje=f"Total {money(total)} (delivery S/ {DELIVERY_CENTIMOS / 100:.2f} aparte).",
        )

    def create_order(
        self,
        items: Sequence[ItemPedido],
        nombre_cliente: str,
        telefono: str = "",
        direccion: str = "",
    ) -> Pedido:
        nombre, phone = clean_name(nombre_cliente), clean_phone(telefono)
        address = " ".join((direccion or "").split())[:200]
        with transaction(self.db_path) as tx:
            rows = self._lines(tx, items)
            lines, subtotal = self._shown(rows)
            delivery = DELIVERY_CENTIMOS if address else 0
            code = new_code(tx, "pedidos", "V")
            cur = tx.execute(
                "INSERT INTO pedidos (codigo, nombre_cliente, telefono, direccion,"
                " subtotal_centimos,"
                " delivery_centimos, total_centimos, creado_en) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    code,
                    nombre,
                    phone,
                    address,
                    subtotal,
                    delivery,
                    subtotal + delivery,
                    timestamp(),
                ),
            )
            for row, qty in rows:
                tx.execute(
                    "INSERT INTO pedido_items VALUES (?, ?, ?, ?, ?)",
                    (
                        cur.lastrowid,
                        row["sku"],
                        qty,
                        row["precio_centimos"],
                        row["precio_centimos"] * qty,
                    ),
                )
                tx.execute(
                    "UPDATE productos SET stock = stock - ? WHERE sku = ?", (qty, row["sku"])
                )
        entrega = "delivery" if address else "recojo en tienda"
        return Pedido(
            codigo=code,
            estado="registrado",
            nombre_cliente=nombre,
            telefono=phone,
            direccion=address,
            entrega=entrega,
            items=lines,
            subtotal=money(subtotal),
            delivery=money(delivery),
            total=money(subtotal + delivery),
            total_soles=(subtotal + delivery) / 100,
            mensaje=f"Pedido {code} registrado por {money(subtotal + delivery)} ({entrega}).",
        )
