"""Chat steps that change an existing booking: cancel it, or move it to another date and time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mcp.server.fastmcp.exceptions import ToolError

from .booking import BookingBook
from .dates import TimeGuess, format_date, parse_date, parse_time
from .dialogue import wants_reset
from .text import normalize


def cancel(book: BookingBook, noun: str, state: dict[str, Any], code: str) -> str:
    """Cancel by code and say so (or say why not)."""
    state["esperando"] = None
    try:
        done = book.cancel(code)
    except ToolError as exc:
        return f"{exc} Revisa el código e inténtalo de nuevo."
    return (
        f"Listo, cancelé tu {noun} {done.codigo} ({done.servicio}, {done.dia} a las {done.hora})."
    )


def reschedule(
    book: BookingBook,
    noun: str,
    state: dict[str, Any],
    message: str,
    code: str | None,
    now: datetime,
) -> str:
    """Collect a new date and time for a booking over several turns, then move it."""
    code = code or state.get("ultimo_codigo")
    if wants_reset(normalize(message)):
        state.update(reprogramar=None, plan={})
        return f"De acuerdo, tu {noun} queda como estaba. ¿Te ayudo con algo más?"
    if not code:
        state["esperando"] = "codigo_reprogramar"
        return f"Claro. ¿Cuál es el código de la {noun} que quieres reprogramar?"
    try:
        current = book.find(code)
    except ToolError as exc:
        state.update(reprogramar=None, plan={})
        return f"{exc} Revisa el código e inténtalo de nuevo."
    plan = state.get("plan") or {} if state.get("reprogramar") == current.codigo else {}
    state.update(reprogramar=current.codigo, plan=plan)
    if day := parse_date(message, now.date()):
        plan["fecha"] = day.isoformat()
    if guess := parse_time(message):
        plan["hora"] = [guess.hour, guess.minute, guess.ambiguous]
    if not plan.get("fecha"):
        return (
            f"Tu {noun} {current.codigo} es el {current.dia} a las {current.hora}. "
            f"¿Para qué día quieres moverla?"
        )
    if not plan.get("hora"):
        return f"¿A qué hora del {format_date(date.fromisoformat(plan['fecha']))}?"
    error = ""
    for hhmm in (f"{t:%H:%M}" for t in TimeGuess(*plan["hora"]).candidates()):
        try:
            done = book.reschedule(current.codigo, plan["fecha"], hhmm, now)
        except ToolError as exc:
            error = error or str(exc)
            continue
        state.update(reprogramar=None, plan={}, ultimo_codigo=done.codigo)
        return (
            f"Listo, reprogramé tu {noun} {done.codigo}: {done.servicio} el {done.dia} "
            f"a las {done.hora} con {done.atendido_por}."
        )
    state["plan"] = {}
    return f"{error} ¿Qué otra fecha y hora te acomoda?"
