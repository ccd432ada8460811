"""Opening hours, slot grids and the strict date/time checks shared by reserva and cita."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mcp.server.fastmcp.exceptions import ToolError

from .dates import WEEKDAYS, format_date, parse_hhmm, parse_iso_date
from .text import join_es


@dataclass(frozen=True)
class Window:
    """One opening window of a weekday (0 = lunes)."""

    weekday: int
    opens: time
    closes: time


def slot_starts(windows: Iterable[Window], weekday: int, length_min: int) -> list[time]:
    """Start times of the slots of a weekday: every `length_min` while the slot fits."""
    starts: list[time] = []
    step = timedelta(minutes=length_min)
    for win in sorted((w for w in windows if w.weekday == weekday), key=lambda w: w.opens):
        cursor = datetime.combine(date.min, win.opens)
        end = datetime.combine(date.min, win.closes)
        while cursor + step <= end:
            starts.append(cursor.time())
            cursor += step
    return starts


def describe_hours(windows: Sequence[Window]) -> str:
    """'martes a domingo 12:00-23:00; lunes 09:00-13:00 y 15:00-19:00' (closed days left out)."""
    per_day = [
        join_es(
            [
                f"{w.opens:%H:%M}-{w.closes:%H:%M}"
                for w in sorted((w for w in windows if w.weekday == day), key=lambda w: w.opens)
            ]
        )
        for day in range(7)
    ]
    groups: list[tuple[int, int, str]] = []
    for day, spans in enumerate(per_day):
        if spans and groups and groups[-1][1] == day - 1 and groups[-1][2] == spans:
            groups[-1] = (groups[-1][0], day, spans)
        elif spans:
            groups.append((day, day, spans))
    parts = [
        f"{WEEKDAYS[a]}{'' if a == b else (' y ' if b == a + 1 else ' a ') + WEEKDAYS[b]} {spans}"
        for a, b, spans in groups
    ]
    return "; ".join(parts) if parts else "sin horario de atención"


def require_date(raw: str, now: datetime) -> date:
    """A YYYY-MM-DD date that is today or later, else a Spanish ToolError."""
    day = parse_iso_date(raw or "")
    if day is None:
        raise ToolError(
            f"La fecha '{raw}' no es válida. Usa el formato AAAA-MM-DD, por ejemplo "
            f"{(now.date() + timedelta(days=2)).isoformat()}."
        )
    if day < now.date():
        raise ToolError(
            f"La fecha {format_date(day)} ya pasó. Elige una fecha desde hoy "
            f"({format_date(now.date())})."
        )
    return day


def require_time(raw: str) -> time:
    """A 24-hour HH:MM time, else a Spanish ToolError."""
    value = parse_hhmm(raw or "")
    if value is None:
        raise ToolError(
            f"La hora '{raw}' no es válida. Usa el formato HH:MM de 24 horas, por ejemplo 20:00."
        )
    return value


def require_open_day(name: str, windows: Sequence[Window], day: date) -> None:
    """A Spanish ToolError when the service does not open that day."""
    if not any(w.weekday == day.weekday() for w in windows):
        raise ToolError(
            f"{name} no atiende el {format_date(day)}. Horario de atención: "
            f"{describe_hours(windows)}."
        )


def require_slot_start(
    name: str, windows: Sequence[Window], length_min: int, day: date, at: time, now: datetime
) -> None:
    """A Spanish ToolError when `at` is not a slot start of that day, or is already past."""
    starts = slot_starts(windows, day.weekday(), length_min)
    if at not in starts:
        shown = join_es([f"{s:%H:%M}" for s in starts]) if starts else "(ningún horario ese día)"
        raise ToolError(
            f"La hora {at:%H:%M} no es un inicio de turno de {name} el {format_date(day)}. "
            f"Los turnos son de {length_min} minutos y empiezan a las {shown}."
        )
    if datetime.combine(day, at) <= now:
        raise ToolError(
            f"Las {at:%H:%M} del {format_date(day)} ya pasaron. Elige una hora posterior."
        )


def nearest(hours: Sequence[str], at: time, limit: int = 8) -> list[str]:
    """Up to `limit` HH:MM hours closest to `at`, in chronological order."""

    def distance(hhmm: str) -> int:
        return abs(int(hhmm[:2]) * 60 + int(hhmm[3:]) - (at.hour * 60 + at.minute))

    return sorted(sorted(hours, key=distance)[:limit])
