"""Spanish dates and times: strict tool formats, free-text parsing and display."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from .text import NUMBER_WORDS, normalize

LIMA = timezone(timedelta(hours=-5), "America/Lima")
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
_WEEKDAYS_NORM = tuple(normalize(w) for w in WEEKDAYS)
_HOUR_WORDS = "|".join(w for w in NUMBER_WORDS if NUMBER_WORDS[w] <= 12)
_MORNING = r"(?:de|en|por) la manana"
_PERIOD = re.compile(
    r"(?:de|en|por) la (manana|tarde|noche)|(?<![a-z])(am|pm|a\.\s?m\.?|p\.\s?m\.?)(?![a-z])"
)


def lima_now() -> datetime:
    """Current local time in Peru (naive)."""
    return datetime.now(LIMA).replace(tzinfo=None, microsecond=0)


def now_from_config(config: dict[str, Any] | None) -> datetime:
    """'Now' for a chat turn: config.fecha_iso when given (start of that day), else real time."""
    real = lima_now()
    raw = str((config or {}).get("fecha_iso") or "")[:10]
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return real
    return real if day == real.date() else datetime.combine(day, time(0, 0))


def format_date(day: date) -> str:
    """'sábado 28/11/2026'."""
    return f"{WEEKDAYS[day.weekday()]} {day:%d/%m/%Y}"


def parse_iso_date(raw: str) -> date | None:
    """A strict YYYY-MM-DD date, or None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def parse_hhmm(raw: str) -> time | None:
    """A strict 24-hour H:MM / HH:MM time, or None."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", raw.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        return None
    return time(int(m[1]), int(m[2]))


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _upcoming(day: int, month: int, year: int | None, today: date) -> date | None:
    if year is not None:
        return _safe_date(year + 2000 if year < 100 else year, month, day)
    found = _safe_date(today.year, month, day)
    if found is not None and found < today:
        found = _safe_date(today.year + 1, month, day)
    return found


def parse_date(text: str, today: date) -> date | None:
    """A date named in free Spanish text ("mañana", "el sábado", "28/11", "2026-11-28")."""
    t = re.sub(_MORNING, " ", normalize(text))
    if m := re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", t):
        return _safe_date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.search(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2,4}))?\b", t):
        return _upcoming(int(m[1]), int(m[2]), int(m[3]) if m[3] else None, today)
    months = "|".join(MONTHS)
    if m := re.search(rf"\b(\d{{1,2}}) de ({months})(?: del? (\d{{4}}))?\b", t):
        return _upcoming(int(m[1]), MONTHS.index(m[2]) + 1, int(m[3]) if m[3] else None, today)
    if re.search(r"\bpasado manana\b", t):
        return today + timedelta(days=2)
    if re.search(r"\bmanana\b", t):
        return today + timedelta(days=1)
    if re.search(r"\bhoy\b", t):
        return today
    if m := re.search(r"\b(" + "|".join(_WEEKDAYS_NORM) + r")\b", t):
        ahead = (_WEEKDAYS_NORM.index(m[1]) - today.weekday()) % 7
        return today + timedelta(days=ahead or 7)
    if m := re.search(r"\b(?:el|dia)\s+(\d{1,2})\b(?!\s*(?::|personas?|am\b|pm\b|h\b|hrs?\b))", t):
        found = _safe_date(today.year, today.month, int(m[1]))
        if found is None or found < today:
            nxt = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
            found = _safe_date(nxt.year, nxt.month, int(m[1]))
        return found
    return None


@dataclass(frozen=True)
class TimeGuess:
    """A time read from text; ambiguous when "a las 5" could be 05:00 or 17:00."""

    hour: int
    minute: int
    ambiguous: bool = False

    def candidates(self) -> list[time]:
        """Possible times, the likelier first (1-7 without a period usually means pm)."""
        if not self.ambiguous:
            return [time(self.hour, self.minute)]
        am, pm = time(self.hour, self.minute), time(self.hour + 12, self.minute)
        return [pm, am] if self.hour <= 7 else [am, pm]


def _apply_period(hour: int, period: str | None) -> int:
    if period in ("tarde", "noche") or (period and period.startswith("p")):
        return hour + 12 if hour < 12 else hour
    if period == "manana" or (period and period.startswith("a")):
        return 0 if hour == 12 else hour
    return hour


def parse_time(text: str) -> TimeGuess | None:
    """A time named in free Spanish text ("a las 5", "8pm", "20:00", "8 de la noche")."""
    t = normalize(text)
    if re.search(r"\bmedio ?dia\b", t):
        return TimeGuess(12, 0)
    pm = _PERIOD.search(t)
    period = (pm[1] or pm[2]) if pm else None
    hour: int | None = None
    minute = 0
    explicit_24 = False
    if m := re.search(r"\b(\d{1,2})[:.h](\d{2})\b", t):
        hour, minute = int(m[1]), int(m[2])
        explicit_24 = m[1].startswith("0") or hour >= 13
    elif m := re.search(rf"\ba las? (\d{{1,2}}|{_HOUR_WORDS})(?: y (media|cuarto))?\b", t):
        hour = int(m[1]) if m[1].isdigit() else NUMBER_WORDS[m[1]]
        minute = {"media": 30, "cuarto": 15}.get(m[2] or "", 0)
    elif m := re.search(r"\b(\d{1,2}) ?(?:am|pm|a\.\s?m|p\.\s?m|h(?:rs?|oras)?\b)", t):
        hour = int(m[1])
        explicit_24 = "h" in m[0]
    elif m := re.search(r"\b(\d{1,2}) (?:de|en|por) la (?:manana|tarde|noche)\b", t):
        hour = int(m[1])
    if hour is None or hour > 23 or minute > 59:
        return None
    if period and hour <= 12:
        return TimeGuess(_apply_period(hour, period), minute)
    ambiguous = 1 <= hour <= 11 and not explicit_24
    return TimeGuess(hour, minute, ambiguous)
