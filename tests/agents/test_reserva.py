"""The reserva agent as a real server: tools, Spanish errors, concurrency, chat and restart."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import (
    ServerProc,
    assert_spanish_error,
    call,
    chat,
    lima_today,
    mcp_session,
    ok,
    rows,
    start_agent,
    text,
    upcoming,
)

CODE = re.compile(r"\bR[A-Z]{2}\d{3}\b")
SATURDAY = upcoming(5, 21)  # restaurant open; far from the dates the chat tests use
MONDAY = upcoming(0, 21)  # restaurant closed


@pytest.fixture(scope="module")
def agent(workdir: Path) -> Iterator[ServerProc]:
    yield from start_agent("mcp_agents.reserva", workdir, db=workdir / "reserva.sqlite")


def bookings(agent: ServerProc) -> list[dict[str, Any]]:
    assert agent.db is not None
    return rows(agent.db, "SELECT * FROM reservas ORDER BY id")


async def test_lists_tools_with_typed_arguments(agent: ServerProc) -> None:
    async with mcp_session(agent.url) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {
        "listar_servicios",
        "consultar_disponibilidad",
        "crear_reserva",
        "cancelar_reserva",
        "chat",
    }
    create = tools["crear_reserva"].inputSchema
    assert set(create["required"]) == {"servicio", "fecha", "hora", "nombre_cliente"}
    assert create["properties"]["personas"]["type"] == "integer"
    assert "AAAA-MM-DD" in create["properties"]["fecha"]["description"]
    assert tools["chat"].inputSchema["properties"]["session_id"]["type"] == "string"
    assert tools["crear_reserva"].description and "código" in tools["crear_reserva"].description


async def test_health_and_start_log(agent: ServerProc) -> None:
    r = httpx.get(f"{agent.base}/health", trust_env=False)
    assert r.json() == {"status": "ok", "agent": "reserva"}
    log = agent.log.read_text()
    assert f":{agent.port}" in log and str(agent.db) in log


async def test_foreign_host_header_rejected_on_loopback_bind(agent: ServerProc) -> None:
    r = httpx.post(
        agent.url,
        headers={"Host": "reserva:8003", "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        trust_env=False,
    )
    assert r.status_code == 421


async def test_listar_servicios(agent: ServerProc) -> None:
    services = ok(await call(agent.url, "listar_servicios"))["servicios"]
    by_id = {s["id"]: s for s in services}
    assert {"mesa-2", "mesa-4", "mesa-6", "cancha-futbol", "masaje-relajante"} <= set(by_id)
    assert by_id["mesa-4"]["capacidad_maxima"] == 4
    assert by_id["mesa-4"]["horario"] == "martes a domingo 12:00-23:00"
    assert by_id["cancha-futbol"]["precio"] == "S/ 120.00"


async def test_booking_lifecycle_is_in_sqlite(agent: ServerProc) -> None:
    before = ok(
        await call(
            agent.url,
            "consultar_disponibilidad",
            fecha=SATURDAY.isoformat(),
            servicio="mesa para 4",
        )
    )
    slot = next(h for h in before["horarios_libres"] if h["hora"] == "20:00")
    assert len(slot["disponibles"]) == 3
    done = ok(
        await call(
            agent.url,
            "crear_reserva",
            servicio="Mesa para 4",
            fecha=SATURDAY.isoformat(),
            hora="20:00",
            nombre_cliente="Ana Pérez",
            telefono="987654321",
            personas=4,
        )
    )
    assert CODE.fullmatch(done["codigo"]) and done["estado"] == "confirmada"
    [row] = [r for r in bookings(agent) if r["codigo"] == done["codigo"]]
    assert (row["servicio_id"], row["fecha"], row["hora"], row["personas"]) == (
        "mesa-4",
        SATURDAY.isoformat(),
        "20:00",
        4,
    )
    assert (row["nombre_cliente"], row["telefono"], row["estado"]) == (
        "Ana Pérez",
        "987654321",
        "confirmada",
    )
    after = ok(
        await call(
            agent.url, "consultar_disponibilidad", fecha=SATURDAY.isoformat(), servicio="mesa-4"
        )
    )
    assert (
        len(next(h for h in after["horarios_libres"] if h["hora"] == "20:00")["disponibles"]) == 2
    )

    cancelled = ok(await call(agent.url, "cancelar_reserva", codigo=done["codigo"].lower()))
    assert cancelled["estado"] == "cancelada"
    assert [r["estado"] for r in bookings(agent) if r["codigo"] == done["codigo"]] == ["cancelada"]
    again = await call(agent.url, "cancelar_reserva", codigo=done["codigo"])
    assert_spanish_error(again, "ya estaba cancelada")


def _bad_cases() -> dict[str, tuple[str, dict[str, Any], tuple[str, ...]]]:
    sat, yesterday = SATURDAY.isoformat(), (lima_today() - timedelta(days=1)).isoformat()
    base = {"servicio": "Mesa para 4", "fecha": sat, "hora": "20:00", "nombre_cliente": "Ana"}
    return {
        "unknown_service": (
            "consultar_disponibilidad",
            {"fecha": sat, "servicio": "piscina"},
            ("No encontramos el servicio 'piscina'", "Mesa para 4"),
        ),
        "ambiguous_service": (
            "crear_reserva",
            base | {"servicio": "mesa"},
            ("puede ser", "Mesa para 6"),
        ),
        "malformed_date": (
            "crear_reserva",
            base | {"fecha": "28/11/2026"},
            ("no es válida", "AAAA-MM-DD"),
        ),
        "impossible_date": (
            "consultar_disponibilidad",
            {"fecha": "2026-02-30", "servicio": "mesa-4"},
            ("no es válida",),
        ),
        "past_date": ("crear_reserva", base | {"fecha": yesterday}, ("ya pasó",)),
        "closed_day": (
            "crear_reserva",
            base | {"fecha": MONDAY.isoformat()},
            ("no atiende el lunes",),
        ),
        "before_opening": (
            "crear_reserva",
            base | {"hora": "08:00"},
            ("no es un inicio de turno", "12:00"),
        ),
        "not_a_slot_start": (
            "crear_reserva",
            base | {"hora": "20:30"},
            ("no es un inicio de turno",),
        ),
        "malformed_time": ("crear_reserva", base | {"hora": "8pm"}, ("no es válida", "HH:MM")),
        "zero_people": ("crear_reserva", base | {"personas": 0}, ("al menos 1",)),
        "too_many_people": ("crear_reserva", base | {"personas": 5}, ("hasta 4 personas",)),
        "people_not_a_number": (
            "crear_reserva",
            base | {"personas": "cuatro"},
            ("Datos inválidos", "personas", "número entero"),
        ),
        "blank_name": ("crear_reserva", base | {"nombre_cliente": "   "}, ("nombre del cliente",)),
        "missing_name": (
            "crear_reserva",
            {k: v for k, v in base.items() if k != "nombre_cliente"},
            ("nombre_cliente", "obligatorio"),
        ),
        "bad_phone": ("crear_reserva", base | {"telefono": "llámame"}, ("teléfono",)),
        "unknown_code": (
            "cancelar_reserva",
            {"codigo": "ABC123"},
            ("No encontramos ninguna reserva",),
        ),
        "unknown_tool": ("borrar_todo", {}, ("no existe",)),
    }


@pytest.mark.parametrize("case", sorted(_bad_cases()))
async def test_bad_arguments_give_spanish_errors_and_write_nothing(
    agent: ServerProc, case: str
) -> None:
    tool, arguments, fragments = _bad_cases()[case]
    before = bookings(agent)
    assert_spanish_error(await call(agent.url, tool, **arguments), *fragments)
    assert bookings(agent) == before


async def test_taken_slot_is_refused_with_alternatives(agent: ServerProc) -> None:
    day = (lima_today() + timedelta(days=30)).isoformat()
    args = {"servicio": "cancha de futbol", "fecha": day, "hora": "19:00", "nombre_cliente": "Luis"}
    ok(await call(agent.url, "crear_reserva", **args))
    before = bookings(agent)
    msg = assert_spanish_error(
        await call(agent.url, "crear_reserva", **args | {"nombre_cliente": "Eva"}),
        "ya está ocupado",
        "Horarios libres",
    )
    assert "18:00" in msg and "19:00," not in msg
    assert bookings(agent) == before


async def test_concurrent_bookings_of_one_slot_exactly_one_wins(agent: ServerProc) -> None:
    day = (lima_today() + timedelta(days=31)).isoformat()
    results = await asyncio.gather(
        *(
            call(
                agent.url,
                "crear_reserva",
                servicio="cancha-futbol",
                fecha=day,
                hora="10:00",
                nombre_cliente=f"Cliente {i}",
            )
            for i in range(4)
        )
    )
    winners = [r for r in results if not r.isError]
    assert len(winners) == 1, [text(r) for r in results]
    for loser in (r for r in results if r.isError):
        assert_spanish_error(loser, "ocupado")
    stored = [r for r in bookings(agent) if r["fecha"] == day and r["hora"] == "10:00"]
    won = winners[0].structuredContent
    assert won is not None and len(stored) == 1 and stored[0]["codigo"] == won["codigo"]


def _next_open(days_min: int) -> date:
    """The first day the restaurant opens (not a Monday) at least `days_min` days ahead."""
    return next(
        lima_today() + timedelta(days=d)
        for d in range(days_min, days_min + 7)
        if (lima_today() + timedelta(days=d)).weekday() != 0
    )


async def test_chat_books_a_table_from_one_sentence_then_cancels(agent: ServerProc) -> None:
    sid = "wa-51987000001"
    assert "Mesa para 4" in await chat(agent.url, sid, "Hola")
    reply = await chat(
        agent.url, sid, "Quiero reservar una mesa para 4 el sábado a las 8 de la noche"
    )
    saturday = upcoming(5, 1)
    assert "Mesa para 4" in reply and "20:00" in reply and saturday.strftime("%d/%m/%Y") in reply
    assert "nombre" in reply
    reply = await chat(agent.url, sid, "Soy Ana Pérez, mi cel es 987 654 321")
    code = CODE.search(reply)
    assert code, reply
    [row] = [r for r in bookings(agent) if r["codigo"] == code[0]]
    assert (
        row["servicio_id"],
        row["fecha"],
        row["hora"],
        row["personas"],
        row["nombre_cliente"],
        row["telefono"],
    ) == ("mesa-4", saturday.isoformat(), "20:00", 4, "Ana Pérez", "987654321")
    reply = await chat(agent.url, sid, f"cancelar mi reserva {code[0]}")
    assert "cancelé" in reply
    assert [r["estado"] for r in bookings(agent) if r["codigo"] == code[0]] == ["cancelada"]


async def test_chat_asks_one_thing_at_a_time(agent: ServerProc) -> None:
    sid = "web-one-at-a-time"
    day = _next_open(2)
    assert "personas" in await chat(agent.url, sid, "quiero una mesa")
    assert "qué día" in await chat(agent.url, sid, "somos tres")
    reply = await chat(agent.url, sid, f"el {day:%d/%m}")
    assert "¿A qué hora?" in reply and "21:00" in reply
    reply = await chat(agent.url, sid, "a las 9")
    assert "Mesa para 4" in reply and "21:00" in reply and "3 personas" in reply
    reply = await chat(agent.url, sid, "Luis Rojas")
    code = CODE.search(reply)
    assert code, reply
    [row] = [r for r in bookings(agent) if r["codigo"] == code[0]]
    assert (row["servicio_id"], row["fecha"], row["hora"], row["personas"]) == (
        "mesa-4",
        day.isoformat(),
        "21:00",
        3,
    )


async def test_chat_rejects_closed_day_and_never_errors(agent: ServerProc) -> None:
    sid = "web-odd"
    monday = upcoming(0, 1)
    reply = await chat(agent.url, sid, f"una mesa para 2 el {monday:%d/%m} a las 8pm")
    assert "no atiende el lunes" in reply and "¿Qué otro día" in reply
    assert "dejé de lado" in await chat(agent.url, sid, "mejor cancela")
    assert "código" in await chat(agent.url, sid, "cancelar")
    for odd in ("???", "🙂🙂", "x" * 3000, "DROP TABLE reservas;"):
        assert await chat(agent.url, sid, odd)
    assert (
        rows(agent.db, "SELECT COUNT(*) AS n FROM reservas WHERE nombre_cliente LIKE 'DROP%'")[0][
            "n"
        ]
        == 0
    )


async def test_chat_memory_survives_restart(agent: ServerProc) -> None:
    sid = "telegram-restart"
    day = lima_today() + timedelta(days=2)
    reply = await chat(agent.url, sid, "Quiero reservar la cancha de fútbol para pasado mañana")
    assert "¿A qué hora?" in reply
    agent.restart()
    reply = await chat(agent.url, sid, "a las 7 de la noche")
    assert "Cancha de fútbol 7" in reply and "19:00" in reply and "nombre" in reply
    reply = await chat(agent.url, sid, "Me llamo Carla Díaz")
    code = CODE.search(reply)
    assert code, reply
    [row] = [r for r in bookings(agent) if r["codigo"] == code[0]]
    assert (row["servicio_id"], row["fecha"], row["hora"], row["nombre_cliente"]) == (
        "cancha-futbol",
        day.isoformat(),
        "19:00",
        "Carla Díaz",
    )
    stored = rows(agent.db, "SELECT turnos FROM chat_sesiones WHERE session_id = ?", sid)
    assert stored == [{"turnos": 3}]
