"""The cita agent as a real server: appointments, rescheduling, errors, concurrency and chat."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

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

CODE = re.compile(r"\bC[A-Z]{2}\d{3}\b")
TUESDAY = upcoming(1, 21)
WEDNESDAY = upcoming(2, 21)  # nutrition works Mon/Wed/Fri mornings


@pytest.fixture(scope="module")
def agent(workdir: Path) -> Iterator[ServerProc]:
    yield from start_agent("mcp_agents.cita", workdir, db=workdir / "cita.sqlite")


def appointments(agent: ServerProc) -> list[dict[str, Any]]:
    assert agent.db is not None
    return rows(
        agent.db,
        "SELECT c.*, r.nombre AS profesional FROM citas c"
        " JOIN recursos r ON r.id = c.recurso_id ORDER BY c.id",
    )


async def test_lists_tools(agent: ServerProc) -> None:
    async with mcp_session(agent.url) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {
        "listar_servicios",
        "consultar_disponibilidad",
        "agendar_cita",
        "cancelar_cita",
        "reprogramar_cita",
        "chat",
    }
    assert set(tools["reprogramar_cita"].inputSchema["required"]) == {"codigo", "fecha", "hora"}
    services = ok(await call(agent.url, "listar_servicios"))["servicios"]
    dental = next(s for s in services if s["id"] == "consulta-dental")
    assert dental["atendido_por"] == ["Dra. Ana Torres", "Dr. Luis Ramos"]
    assert dental["horario"] == "lunes a viernes 09:00-13:00 y 15:00-19:00; sábado 09:00-13:00"


async def test_availability_shows_professionals_and_half_hour_slots(agent: ServerProc) -> None:
    free = ok(
        await call(
            agent.url, "consultar_disponibilidad", fecha=TUESDAY.isoformat(), servicio="dentista"
        )
    )
    hours = [h["hora"] for h in free["horarios_libres"]]
    assert hours[:3] == ["09:00", "09:30", "10:00"] and "13:00" not in hours and "15:00" in hours
    assert free["horarios_libres"][0]["disponibles"] == ["Dra. Ana Torres", "Dr. Luis Ramos"]


async def test_schedule_prefer_professional_reschedule_and_cancel(agent: ServerProc) -> None:
    made = ok(
        await call(
            agent.url,
            "agendar_cita",
            servicio="Consulta dental",
            fecha=TUESDAY.isoformat(),
            hora="10:00",
            nombre_cliente="Rosa Quispe",
            profesional="Ramos",
        )
    )
    assert CODE.fullmatch(made["codigo"]) and made["atendido_por"] == "Dr. Luis Ramos"
    [row] = [r for r in appointments(agent) if r["codigo"] == made["codigo"]]
    assert (row["servicio_id"], row["fecha"], row["hora"], row["profesional"]) == (
        "consulta-dental",
        TUESDAY.isoformat(),
        "10:00",
        "Dr. Luis Ramos",
    )

    moved = ok(
        await call(
            agent.url,
            "reprogramar_cita",
            codigo=made["codigo"],
            fecha=WEDNESDAY.isoformat(),
            hora="16:30",
        )
    )
    assert (moved["fecha"], moved["hora"], moved["atendido_por"]) == (
        WEDNESDAY.isoformat(),
        "16:30",
        "Dr. Luis Ramos",
    )
    [row] = [r for r in appointments(agent) if r["codigo"] == made["codigo"]]
    assert (row["fecha"], row["hora"], row["estado"]) == (
        WEDNESDAY.isoformat(),
        "16:30",
        "confirmada",
    )

    ok(await call(agent.url, "cancelar_cita", codigo=made["codigo"]))
    assert [r["estado"] for r in appointments(agent) if r["codigo"] == made["codigo"]] == [
        "cancelada"
    ]
    assert_spanish_error(
        await call(
            agent.url,
            "reprogramar_cita",
            codigo=made["codigo"],
            fecha=WEDNESDAY.isoformat(),
            hora="17:00",
        ),
        "ya estaba cancelada",
    )


def _bad_cases() -> dict[str, tuple[str, dict[str, Any], tuple[str, ...]]]:
    tue = TUESDAY.isoformat()
    base = {"servicio": "consulta dental", "fecha": tue, "hora": "11:00", "nombre_cliente": "Rosa"}
    past = (lima_today() - timedelta(days=3)).isoformat()
    return {
        "unknown_service": (
            "agendar_cita",
            base | {"servicio": "cirugía láser"},
            ("No encontramos el servicio",),
        ),
        "ambiguous_service": ("agendar_cita", base | {"servicio": "consulta"}, ("puede ser",)),
        "malformed_date": ("agendar_cita", base | {"fecha": "martes"}, ("no es válida",)),
        "past_date": ("agendar_cita", base | {"fecha": past}, ("ya pasó",)),
        "lunch_break": ("agendar_cita", base | {"hora": "13:30"}, ("no es un inicio de turno",)),
        "sunday": (
            "agendar_cita",
            base | {"fecha": upcoming(6, 21).isoformat()},
            ("no atiende el domingo",),
        ),
        "unknown_professional": (
            "agendar_cita",
            base | {"profesional": "Dr. House"},
            ("no atiende",),
        ),
        "unknown_code_cancel": (
            "cancelar_cita",
            {"codigo": "CZZ999"},
            ("No encontramos ninguna cita",),
        ),
        "unknown_code_move": (
            "reprogramar_cita",
            {"codigo": "nada", "fecha": tue, "hora": "10:00"},
            ("No encontramos ninguna cita",),
        ),
        "fecha_wrong_type": (
            "consultar_disponibilidad",
            {"fecha": 20261128, "servicio": "nutricion"},
            ("Datos inválidos", "fecha", "texto"),
        ),
    }


@pytest.mark.parametrize("case", sorted(_bad_cases()))
async def test_bad_arguments_give_spanish_errors_and_write_nothing(
    agent: ServerProc, case: str
) -> None:
    tool, arguments, fragments = _bad_cases()[case]
    before = appointments(agent)
    assert_spanish_error(await call(agent.url, tool, **arguments), *fragments)
    assert appointments(agent) == before


async def test_reschedule_into_taken_slot_keeps_the_original(agent: ServerProc) -> None:
    day = upcoming(4, 28).isoformat()  # a Friday: nutrition open
    first = ok(
        await call(
            agent.url,
            "agendar_cita",
            servicio="nutricion",
            fecha=day,
            hora="09:00",
            nombre_cliente="Uno",
        )
    )
    second = ok(
        await call(
            agent.url,
            "agendar_cita",
            servicio="nutricion",
            fecha=day,
            hora="09:45",
            nombre_cliente="Dos",
        )
    )
    before = appointments(agent)
    assert_spanish_error(
        await call(agent.url, "reprogramar_cita", codigo=second["codigo"], fecha=day, hora="09:00"),
        "ya está ocupado",
    )
    assert appointments(agent) == before
    assert first["hora"] == "09:00"


async def test_concurrent_appointments_for_one_professional_exactly_one_wins(
    agent: ServerProc,
) -> None:
    day = upcoming(0, 35).isoformat()  # a Monday: only Lic. Carla Ríos does nutrition
    results = await asyncio.gather(
        *(
            call(
                agent.url,
                "agendar_cita",
                servicio="Consulta de nutrición",
                fecha=day,
                hora="10:30",
                nombre_cliente=f"Paciente {i}",
            )
            for i in range(4)
        )
    )
    winners = [r for r in results if not r.isError]
    assert len(winners) == 1, [text(r) for r in results]
    stored = [r for r in appointments(agent) if r["fecha"] == day and r["hora"] == "10:30"]
    assert len(stored) == 1 and stored[0]["profesional"] == "Lic. Carla Ríos"


async def test_chat_collects_fields_then_reschedules_and_cancels(agent: ServerProc) -> None:
    sid = "51999888777"
    day = next(
        lima_today() + timedelta(days=d)
        for d in range(2, 9)
        if (lima_today() + timedelta(days=d)).weekday() < 5
    )
    reply = await chat(agent.url, sid, "Hola, quisiera una consulta")
    assert "Consulta dental" in reply and "Consulta de nutrición" in reply
    assert "¿Para qué día" in await chat(agent.url, sid, "1")
    reply = await chat(agent.url, sid, f"para el {day:%d/%m} a las 4 de la tarde")
    assert "16:00" in reply and "nombre" in reply
    reply = await chat(agent.url, sid, "rosa quispe")
    code = CODE.search(reply)
    assert code and "Rosa Quispe" in reply, reply
    [row] = [r for r in appointments(agent) if r["codigo"] == code[0]]
    assert (row["servicio_id"], row["fecha"], row["hora"], row["nombre_cliente"]) == (
        "consulta-dental",
        day.isoformat(),
        "16:00",
        "Rosa Quispe",
    )

    later = day + timedelta(days=7)
    reply = await chat(agent.url, sid, "quiero reprogramar mi cita")
    assert code[0] in reply and "qué día" in reply
    reply = await chat(agent.url, sid, f"al {later:%d/%m} a las 10 de la mañana")
    assert "reprogramé" in reply and "10:00" in reply
    [row] = [r for r in appointments(agent) if r["codigo"] == code[0]]
    assert (row["fecha"], row["hora"]) == (later.isoformat(), "10:00")
    assert "cancelé" in await chat(agent.url, sid, f"Cancela la cita {code[0].lower()} por favor")
    assert [r["estado"] for r in appointments(agent) if r["codigo"] == code[0]] == ["cancelada"]


async def test_chat_follow_up_continues_draft_across_restart(agent: ServerProc) -> None:
    sid = "web-cita-restart"
    reply = await chat(agent.url, sid, "necesito una asesoría contable", fecha_iso="2026-11-26")
    assert "¿Para qué día" in reply and "lunes a viernes" in reply
    agent.restart()
    reply = await chat(agent.url, sid, "para mañana a las 5", fecha_iso="2026-11-26")
    assert "Asesoría contable el viernes 27/11/2026 a las 17:00" in reply
    reply = await chat(agent.url, sid, "Mi nombre es Jorge Salas", fecha_iso="2026-11-26")
    code = CODE.search(reply)
    assert code, reply
    [row] = [r for r in appointments(agent) if r["codigo"] == code[0]]
    assert (row["servicio_id"], row["fecha"], row["hora"]) == (
        "asesoria-contable",
        "2026-11-27",
        "17:00",
    )
