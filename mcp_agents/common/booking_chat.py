"""The deterministic Spanish booking dialogue used by the reserva and cita chat tools."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mcp.server.fastmcp.exceptions import ToolError

from .booking import BookingBook
from .booking_changes import cancel, reschedule
from .booking_models import Service, money
from .dates import TimeGuess, now_from_config, parse_date, parse_time
from .dialogue import (
    bare_number,
    bot_name,
    has_any,
    is_greeting_only,
    is_thanks,
    parse_code,
    parse_name,
    parse_people,
    parse_phone,
    run_dialogue,
    wants_reset,
)
from .schedule import describe_hours, nearest
from .sessions import DialogueMemory
from .text import best_matches, join_es, normalize


@dataclass(frozen=True)
class BookingWords:
    """Wording and abilities of one booking agent's dialogue."""

    noun: str
    verb: str
    asks_people: bool
    can_reschedule: bool


class BookingChat:
    """Slot filling over the booking engine: service, people, date, time, name -> booking."""

    def __init__(self, book: BookingBook, store: DialogueMemory, words: BookingWords) -> None:
        self.book, self.store, self.w = book, store, words

    def reply(self, message: str, session_id: str, context: dict[str, Any] | None) -> str:
        now = now_from_config((context or {}).get("config") if isinstance(context, dict) else None)
        return run_dialogue(
            self.store,
            session_id,
            message,
            lambda state, msg: self._step(state, msg, now, context),
            f"¿En qué puedo ayudarte con tu {self.w.noun}?",
        )

    def _menu(self) -> str:
        lines = []
        for i, s in enumerate(self.book.services(), 1):
            price = (
                ""
                if s.precio_centimos is None
                else ", gratis"
                if s.precio_centimos == 0
                else f", {money(s.precio_centimos)}"
            )
            lines.append(f"{i}. {s.nombre} ({s.duracion_min} min{price})")
        return "\n".join(lines)

    def _step(
        self, state: dict[str, Any], message: str, now: datetime, context: dict[str, Any] | None
    ) -> str:
        norm, waiting = normalize(message), state.get("esperando")
        code = parse_code(message, self.book.kind.code_prefix)
        if has_any(norm, "cancel", "anul") or (waiting == "codigo_cancelar" and code):
            if not code and any(state.get("borrador", {}).values()):
                state.update(borrador={}, esperando="codigo_cancelar")
                return (
                    f"De acuerdo, dejé de lado la {self.w.noun} que estábamos armando. Si querías "
                    f"cancelar una {self.w.noun} ya confirmada, envíame su código."
                )
            if not code:
                state["esperando"] = "codigo_cancelar"
                return (
                    f"Claro. ¿Cuál es el código de tu {self.w.noun}? "
                    f"Por ejemplo {self.book.kind.code_prefix}KM482."
                )
            return cancel(self.book, self.w.noun, state, code)
        if self.w.can_reschedule and (
            has_any(norm, "reprogram")
            or state.get("reprogramar")
            or (code and has_any(norm, "cambi", "mover", "muev"))
            or (code and waiting == "codigo_reprogramar")
        ):
            state["esperando"] = None
            return reschedule(
                self.book, self.w.noun, state, message, code or state.get("reprogramar"), now
            )
        draft = state.setdefault("borrador", {})
        if wants_reset(norm):
            state.update(borrador={}, esperando=None)
            return f"De acuerdo, dejé de lado esa {self.w.noun}. ¿Te ayudo con algo más?"
        if not draft and is_greeting_only(message):
            state.update(esperando="servicio", opciones=[s.id for s in self.book.services()])
            return (
                f"¡Hola! Soy {bot_name(context)}. Puedo ayudarte a {self.w.verb}:\n{self._menu()}\n"
                f"¿Qué te gustaría {self.w.verb}?"
            )
        if not draft and is_thanks(message):
            return "¡Con gusto! Aquí estoy si necesitas algo más."
        self._extract(state, draft, message, waiting, now)
        return self._next(state, draft, now)

    def _extract(
        self,
        state: dict[str, Any],
        d: dict[str, Any],
        message: str,
        waiting: str | None,
        now: datetime,
    ) -> None:
        name = parse_name(message, expecting=waiting == "nombre")
        number = bare_number(message)
        services = self.book.services()
        options = state.get("opciones") or []
        if waiting == "servicio" and number and 1 <= number <= len(options):
            d["servicio"], d["candidatos"] = options[number - 1], []
        elif not (name and waiting == "nombre"):
            found = best_matches(message, [s.option() for s in services])
            if len(found) == 1:
                d["servicio"], d["candidatos"] = found[0].key, []
            elif found and d.get("servicio") not in {o.key for o in found}:
                d["servicio"], d["candidatos"] = None, [o.key for o in found]
        people = parse_people(message) or (number if waiting == "personas" else None)
        if people:
            d["personas"] = people
        day = parse_date(message, now.date())
        if day is None and waiting == "fecha" and number:
            day = parse_date(f"el {number}", now.date())
        if day:
            d["fecha"] = day.isoformat()
        guess = parse_time(message)
        if guess is None and waiting == "hora" and number and number <= 23:
            guess = TimeGuess(number, 0, number <= 11)
        if guess:
            d["hora"] = [guess.hour, guess.minute, guess.ambiguous]
        if phone := parse_phone(message):
            d["telefono"] = phone
        if name:
            d["nombre"] = name

    def _pick_service(self, state: dict[str, Any], d: dict[str, Any]) -> Service | str:
        services = {s.id: s for s in self.book.services()}
        if d.get("servicio") in services:
            return services[d["servicio"]]
        cands = [services[k] for k in d.get("candidatos") or [] if k in services]
        if cands and self.w.asks_people and len({s.capacidad for s in cands}) > 1:
            if d.get("personas"):
                fit = sorted(
                    (s for s in cands if s.capacidad >= d["personas"]), key=lambda s: s.capacidad
                )
                if fit:
                    d["servicio"] = fit[0].id
                    return fit[0]
                d.pop("personas")
                return (
                    "Lo siento, lo máximo que tenemos es para "
                    f"{max(s.capacidad for s in cands)} personas. ¿Para cuántas personas sería?"
                )
            state["esperando"] = "personas"
            return "¿Para cuántas personas?"
        if cands:
            state.update(esperando="servicio", opciones=[s.id for s in cands])
            listed = "\n".join(f"{i}. {s.nombre}" for i, s in enumerate(cands, 1))
            return f"¿Cuál de estos servicios prefieres?\n{listed}"
        state.update(esperando="servicio", opciones=list(services))
        return f"¿Qué te gustaría {self.w.verb}? Tenemos:\n{self._menu()}"

    def _next(self, state: dict[str, Any], d: dict[str, Any], now: datetime) -> str:
        svc = self._pick_service(state, d)
        if isinstance(svc, str):
            return svc
        family = [s for s in self.book.services() if s.palabras_clave[:1] == svc.palabras_clave[:1]]
        if self.w.asks_people and len(family) > 1 and not d.get("personas"):
            state["esperando"] = "personas"
            return f"¿Para cuántas personas es la {svc.nombre.lower()}?"
        if not self.w.asks_people:
            d["personas"] = 1
        if (d.get("personas") or 1) > svc.capacidad:
            bigger = sorted(
                (s for s in family if s.capacidad >= d["personas"]), key=lambda s: s.capacidad
            )
            if not bigger:
                d.pop("personas")
                state["esperando"] = "personas"
                return (
                    f"{svc.nombre} admite hasta {svc.capacidad} personas. "
                    "¿Para cuántas personas sería?"
                )
            svc, d["servicio"] = bigger[0], bigger[0].id
        if not d.get("fecha"):
            state["esperando"] = "fecha"
            return f"¿Para qué día quieres {svc.nombre}? Atendemos: {describe_hours(svc.windows)}."
        try:
            free = self.book.availability(svc.id, d["fecha"], now)
        except ToolError as exc:
            d.pop("fecha")
            state["esperando"] = "fecha"
            return f"{exc} ¿Qué otro día te acomoda?"
        hours = [h.hora for h in free.horarios_libres]
        if not hours:
            d.pop("fecha")
            state["esperando"] = "fecha"
            return f"{free.mensaje} ¿Qué otro día te acomoda?"
        if not d.get("hora"):
            state["esperando"] = "hora"
            return f"¿A qué hora? Horarios libres el {free.dia}: {join_es(hours)}."
        guess = TimeGuess(*d["hora"])
        options = [f"{t:%H:%M}" for t in guess.candidates()]
        hhmm = next((h for h in options if h in hours), options[0])
        if hhmm not in hours:
            d.pop("hora")
            state["esperando"] = "hora"
            return (
                f"Las {hhmm} no está disponible para {svc.nombre} el {free.dia}. Horarios "
                f"libres: {join_es(nearest(hours, guess.candidates()[0]))}. ¿Cuál prefieres?"
            )
        d["hora"] = [int(hhmm[:2]), int(hhmm[3:]), False]
        people = d.get("personas") or 1
        summary = f"{svc.nombre} el {free.dia} a las {hhmm}" + (
            f" para {people} personas" if people > 1 else ""
        )
        if not d.get("nombre"):
            state["esperando"] = "nombre"
            return f"Perfecto: {summary}. ¿A nombre de quién registro la {self.w.noun}?"
        try:
            done = self.book.create(
                svc.id, d["fecha"], hhmm, d["nombre"], d.get("telefono", ""), people, now
            )
        except ToolError as exc:
            d.pop("hora")
            state["esperando"] = "hora"
            return f"{exc} ¿Qué otra hora prefieres?"
        state.update(borrador={}, esperando=None, opciones=[], ultimo_codigo=done.codigo)
        who = f" con {done.atendido_por}" if not self.w.asks_people else ""
        return (
            f"¡Listo, {done.nombre_cliente}! Tu {self.w.noun} quedó confirmada: {summary}{who}. "
            f"Tu código es {done.codigo}. "
            f"Si necesitas cancelarla, escríbeme «cancelar {done.codigo}»."
        )
