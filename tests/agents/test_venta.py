"""The venta agent as a real server (configured through env vars): search, quotes, orders, chat."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import (
    ServerProc,
    assert_spanish_error,
    call,
    chat,
    mcp_session,
    ok,
    rows,
    start_agent,
    text,
)

CODE = re.compile(r"\bV[A-Z]{2}\d{3}\b")


@pytest.fixture(scope="module")
def agent(workdir: Path) -> Iterator[ServerProc]:
    db = workdir / "venta.sqlite"
    yield from start_agent(
        "mcp_agents.venta",
        workdir,
        db=db,
        port_via_env="VENTA_PORT",
        env={"VENTA_DB": str(db), "VENTA_ALLOW_ANY_HOST": "1"},
    )


def snapshot(agent: ServerProc) -> tuple[list[dict[str, Any]], ...]:
    assert agent.db is not None
    return (
        rows(agent.db, "SELECT * FROM pedidos ORDER BY id"),
        rows(agent.db, "SELECT * FROM pedido_items ORDER BY rowid"),
        rows(agent.db, "SELECT sku, stock FROM productos ORDER BY sku"),
    )


def stock(agent: ServerProc, sku: str) -> int:
    assert agent.db is not None
    return rows(agent.db, "SELECT stock FROM productos WHERE sku = ?", sku)[0]["stock"]


async def test_env_configuration_and_any_host(agent: ServerProc) -> None:
    assert "host check off" in agent.log.read_text() and "venta.sqlite" in agent.log.read_text()
    r = httpx.post(
        agent.url,
        headers={"Host": "venta:8001", "Accept": "application/json, text/event-stream"},
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "compose", "version": "1"},
            },
        },
        trust_env=False,
    )
    assert r.status_code == 200 and '"name":"venta"' in r.text
    async with mcp_session(agent.url) as session:
        names = {t.name for t in (await session.list_tools()).tools}
    assert names == {"buscar_productos", "cotizar", "crear_pedido", "chat"}


async def test_search(agent: ServerProc) -> None:
    found = ok(await call(agent.url, "buscar_productos", texto="EMPANADAS"))["productos"]
    assert {p["nombre"] for p in found} == {"Empanada de carne", "Empanada de pollo"}
    assert all(p["precio"] == "S/ 7.00" for p in found)
    assert len(ok(await call(agent.url, "buscar_productos", texto=""))["productos"]) == 12
    nothing = ok(await call(agent.url, "buscar_productos", texto="piscina"))
    assert nothing["productos"] == [] and "No encontramos productos" in nothing["mensaje"]


async def test_quote_writes_nothing(agent: ServerProc) -> None:
    before = snapshot(agent)
    quote = ok(
        await call(
            agent.url,
            "cotizar",
            items=[
                {"producto": "capuccino", "cantidad": 2},
                {"producto": "Pie de limon", "cantidad": 1},
                {"producto": "CAF-CAP", "cantidad": 1},
            ],
        )
    )
    assert [(i["producto"], i["cantidad"], i["subtotal"]) for i in quote["items"]] == [
        ("Capuccino", 3, "S/ 28.50"),
        ("Pie de limón", 1, "S/ 8.00"),
    ]
    assert quote["total"] == "S/ 36.50" and quote["total_soles"] == 36.5
    assert snapshot(agent) == before


async def test_order_is_stored_with_items_and_stock(agent: ServerProc) -> None:
    stock_before = stock(agent, "SAL-SAN")
    order = ok(
        await call(
            agent.url,
            "crear_pedido",
            items=[{"producto": "sándwich de pollo", "cantidad": 2}],
            nombre_cliente="Ana Pérez",
            telefono="987654321",
            direccion="Av. Larco 123, Miraflores",
        )
    )
    assert CODE.fullmatch(order["codigo"])
    assert (order["entrega"], order["subtotal"], order["delivery"], order["total"]) == (
        "delivery",
        "S/ 24.00",
        "S/ 5.00",
        "S/ 29.00",
    )
    [row] = rows(agent.db, "SELECT * FROM pedidos WHERE codigo = ?", order["codigo"])
    assert (row["nombre_cliente"], row["direccion"], row["total_centimos"]) == (
        "Ana Pérez",
        "Av. Larco 123, Miraflores",
        2900,
    )
    items = rows(
        agent.db,
        "SELECT sku, cantidad, subtotal_centimos FROM pedido_items WHERE pedido_id = ?",
        row["id"],
    )
    assert items == [{"sku": "SAL-SAN", "cantidad": 2, "subtotal_centimos": 2400}]
    assert stock(agent, "SAL-SAN") == stock_before - 2


def _bad_cases() -> dict[str, tuple[str, dict[str, Any], tuple[str, ...]]]:
    good = [{"producto": "Capuccino", "cantidad": 1}]
    who = {"nombre_cliente": "Ana"}
    return {
        "zero_quantity": (
            "cotizar",
            {"items": [{"producto": "Capuccino", "cantidad": 0}]},
            ("Datos inválidos", "cantidad", "mayor que 0"),
        ),
        "negative_quantity": (
            "crear_pedido",
            {"items": [{"producto": "Capuccino", "cantidad": -2}]} | who,
            ("cantidad", "mayor que 0"),
        ),
        "quantity_not_a_number": (
            "cotizar",
            {"items": [{"producto": "Capuccino", "cantidad": "dos"}]},
            ("número entero",),
        ),
        "unknown_product": (
            "crear_pedido",
            {"items": good + [{"producto": "pizza", "cantidad": 1}]} | who,
            ("No encontramos el producto 'pizza'",),
        ),
        "ambiguous_product": (
            "crear_pedido",
            {"items": [{"producto": "empanada", "cantidad": 2}]} | who,
            ("puede ser", "Empanada de pollo"),
        ),
        "no_items": ("crear_pedido", {"items": []} | who, ("no tiene productos",)),
        "items_not_a_list": ("cotizar", {"items": "2 capuccinos"}, ("Datos inválidos", "lista")),
        "over_stock": (
            "crear_pedido",
            {"items": good + [{"producto": "cafe en grano", "cantidad": 999}]} | who,
            ("Solo tenemos",),
        ),
        "blank_name": (
            "crear_pedido",
            {"items": good, "nombre_cliente": ""},
            ("nombre del cliente",),
        ),
    }


@pytest.mark.parametrize("case", sorted(_bad_cases()))
async def test_bad_arguments_give_spanish_errors_and_write_nothing(
    agent: ServerProc, case: str
) -> None:
    tool, arguments, fragments = _bad_cases()[case]
    before = snapshot(agent)
    assert_spanish_error(await call(agent.url, tool, **arguments), *fragments)
    assert snapshot(agent) == before


async def test_concurrent_orders_for_the_last_units_exactly_one_wins(agent: ServerProc) -> None:
    left = stock(agent, "CAF-GRA")
    results = await asyncio.gather(
        *(
            call(
                agent.url,
                "crear_pedido",
                items=[{"producto": "Café en grano 250 g", "cantidad": left}],
                nombre_cliente=f"Cliente {i}",
            )
            for i in range(3)
        )
    )
    assert sum(not r.isError for r in results) == 1, [text(r) for r in results]
    assert stock(agent, "CAF-GRA") == 0
    assert len(rows(agent.db, "SELECT * FROM pedido_items WHERE sku = 'CAF-GRA'")) == 1


async def test_chat_prices_cart_and_order(agent: ServerProc) -> None:
    sid = "wa-venta-1"
    assert "precios" in await chat(agent.url, sid, "Buenas tardes")
    assert "Capuccino cuesta S/ 9.50." in await chat(agent.url, sid, "¿Cuánto cuesta el capuchino?")
    reply = await chat(agent.url, sid, "quiero 2 empanadas")
    assert "Empanada de carne o Empanada de pollo" in reply
    reply = await chat(agent.url, sid, "de pollo")
    assert "2 × Empanada de pollo" in reply and "S/ 14.00" in reply and "nombre" in reply
    agent.restart()
    reply = await chat(agent.url, sid, "agrégame una chicha morada")
    assert "1 × Chicha morada 1 L" in reply and "Total: S/ 26.00" in reply
    reply = await chat(agent.url, sid, "Soy Luis Rojas, envíalo a Jr. Cusco 120, Barranco")
    code = CODE.search(reply)
    assert code and "S/ 31.00" in reply, reply
    [order] = rows(agent.db, "SELECT * FROM pedidos WHERE codigo = ?", code[0])
    assert (order["nombre_cliente"], order["direccion"], order["total_centimos"]) == (
        "Luis Rojas",
        "Jr. Cusco 120, Barranco",
        3100,
    )
    items = rows(
        agent.db,
        "SELECT sku, cantidad FROM pedido_items WHERE pedido_id = ? ORDER BY sku",
        order["id"],
    )
    assert items == [{"sku": "BEB-CHI", "cantidad": 1}, {"sku": "SAL-EMP", "cantidad": 2}]
    assert "Con gusto" in await chat(agent.url, sid, "gracias")


async def test_chat_never_errors_on_odd_text(agent: ServerProc) -> None:
    before = snapshot(agent)
    expected = {
        "": "pedido",
        "   ": "pedido",
        "quiero 0 capuccinos": "al menos 1",
        "quiero 500 tortas de chocolate": "Solo tenemos 30",
        "🍰": "precios",
        "{}": "precios",
    }
    for odd, fragment in expected.items():
        result = await call(agent.url, "chat", message=odd, session_id="odd", context=None)
        assert not result.isError and fragment in text(result), (odd, text(result))
    assert snapshot(agent) == before
