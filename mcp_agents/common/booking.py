"""The slot-booking engine behind reserva and cita: one row per (resource, date, time)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time

from mcp.server.fastmcp.exceptions import ToolError

from . import schedule as sch
from .booking_models import (
    Comprobante,
    Disponibilidad,
    HorarioLibre,
    Service,
    ServiceSeed,
    ServicioInfo,
    load_services,
    money,
    seed_services,
)
from .checks import clean_name, clean_phone
from .dates import format_date
from .db import init_db, new_code, reading, timestamp, transaction
from .text import Option, best_matches, join_es, normalize


@dataclass(frozen=True)
class BookingKind:
    """What differs between the booking agents: table name, wording and code prefix."""

    table: str
    noun: str
    code_prefix: str


def schema_sql(kind: BookingKind) -> str:
    t = kind.table
    return f"""
    CREATE TABLE IF NOT EXISTS servicios (id TEXT PRIMARY KEY, nombre TEXT NOT NULL UNIQUE,
        descripcion TEXT NOT NULL, duracion_min INTEGER NOT NULL CHECK (duracion_min > 0),
        capacidad INTEGER NOT NULL DEFAULT 1, precio_centimos INTEGER,
        palabras_clave TEXT NOT NULL DEFAULT '');
    CREATE TABLE IF NOT EXISTS horarios (servicio_id TEXT NOT NULL REFERENCES servicios(id),
        dia_semana INTEGER NOT NULL CHECK (dia_semana BETWEEN 0 AND 6),
        apertura TEXT NOT NULL, cierre TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS recursos (id INTEGER PRIMARY KEY, nombre TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS servicio_recursos (
        servicio_id TEXT NOT NULL REFERENCES servicios(id),
        recurso_id INTEGER NOT NULL REFERENCES recursos(id), PRIMARY KEY (servicio_id, recurso_id));
    CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY, codigo TEXT NOT NULL UNIQUE,
        servicio_id TEXT NOT NULL REFERENCES servicios(id),
        recurso_id INTEGER NOT NULL REFERENCES recursos(id),
        fecha TEXT NOT NULL, hora TEXT NOT NULL, nombre_cliente TEXT NOT NULL,
        telefono TEXT NOT NULL DEFAULT '', personas INTEGER NOT NULL DEFAULT 1,
        estado TEXT NOT NULL DEFAULT 'confirmada', creado_en TEXT NOT NULL,
        actualizado_en TEXT NOT NULL);
    CREATE UNIQUE INDEX IF NOT EXISTS {t}_turno_unico ON {t} (recurso_id, fecha, hora)
        WHERE estado = 'confirmada';
    """


class BookingBook:
    """Services, availability and bookings of one agent's SQLite file."""

    def __init__(self, db_path: str, kind: BookingKind) -> None:
        self.db_path = db_path
        self.kind = kind

    def init(self, seeds: tuple[ServiceSeed, ...]) -> None:
        init_db(
            self.db_path, schema_sql(self.kind), lambda tx: seed_services(tx, seeds), "servicios"
        )

    def services(self) -> list[Service]:
        with reading(self.db_path) as conn:
            return load_services(conn)

    def service_infos(self) -> list[ServicioInfo]:
        return [
            ServicioInfo(
                id=s.id,
                nombre=s.nombre,
                descripcion=s.descripcion,
                duracion_minutos=s.duracion_min,
                capacidad_maxima=s.capacidad,
                precio=money(s.precio_centimos) if s.precio_centimos is not None else None,
                horario=sch.describe_hours(s.windows),
                atendido_por=[n for _, n in s.recursos],
            )
            for s in self.services()
        ]

    def resolve_service(self, text: str) -> Service:
        """The service named by `text` (id, name or keywords), else a Spanish ToolError."""
        services = self.services()
        found = best_matches(text or "", [s.option() for s in services])
        names = join_es([s.nombre for s in services])
        if not found:
            raise ToolError(f"No encontramos el servicio '{text}'. Servicios disponibles: {names}.")
        if len(found) > 1:
            raise ToolError(
                f"'{text}' puede ser {join_es([o.name for o in found], 'o')}. Indica cuál."
            )
        return next(s for s in services if s.id == found[0].key)

    def _free(
        self, conn: sqlite3.Connection, svc: Service, day: date, now: datetime, ignore_id: int = 0
    ) -> list[HorarioLibre]:
        taken: set[tuple[str, int]] = {
            (r["hora"], r["recurso_id"])
            for r in conn.execute(
                f"SELECT hora, recurso_id FROM {self.kind.table} WHERE fecha = ?"
                " AND estado = 'confirmada' AND id != ?",
                (day.isoformat(), ignore_id),
            )
        }
        slots = []
        for start in sch.slot_starts(svc.windows, day.weekday(), svc.duracion_min):
            hhmm = f"{start:%H:%M}"
            free = [name for rid, name in svc.recursos if (hhmm, rid) not in taken]
            if free and datetime.combine(day, start) > now:
                slots.append(HorarioLibre(hora=hhmm, disponibles=free))
        return slots

    def check_day(self, servicio: str, fecha: str, now: datetime) -> tuple[Service, date]:
        svc = self.resolve_service(servicio)
        day = sch.require_date(fecha, now)
        sch.require_open_day(svc.nombre, svc.windows, day)
        return svc, day

    def availability(self, servicio: str, fecha: str, now: datetime) -> Disponibilidad:
        svc, day = self.check_day(servicio, fecha, now)
        with reading(self.db_path) as conn:
            free = self._free(conn, svc, day, now)
        when = format_date(day)
        msg = (
            f"{svc.nombre} tiene {len(free)} horarios libres el {when}."
            if free
            else f"No quedan horarios libres para {svc.nombre} el {when}."
        )
        return Disponibilidad(
            servicio=svc.nombre, fecha=day.isoformat(), dia=when, horarios_libres=free, mensaje=msg
        )

    def _pick(
        self,
        conn: sqlite3.Connection,
        svc: Service,
        day: date,
        at: time,
        now: datetime,
        preferred: str,
        ignore_id: int = 0,
    ) -> tuple[int, str]:
        free_now = {h.hora: h.disponibles for h in self._free(conn, svc, day, now, ignore_id)}
        names = free_now.get(f"{at:%H:%M}", [])
        if preferred:
            wanted = best_matches(preferred, [Option(n, n) for _, n in svc.recursos])
            if not wanted:
                raise ToolError(
                    f"'{preferred}' no atiende {svc.nombre}. Atienden: "
                    f"{join_es([n for _, n in svc.recursos])}."
                )
            names = [n for n in names if n in {o.name for o in wanted}]
        if not names:
            others = join_es(sch.nearest(list(free_now), at)) or "ninguno"
            raise ToolError(
                f"El horario de las {at:%H:%M} del {format_date(day)} ya está ocupado "
                f"para {svc.nombre}. Horarios libres ese día: {others}."
            )
        return next((rid, n) for rid, n in svc.recursos if n == names[0])

    def _receipt(self, conn: sqlite3.Connection, code: str, mensaje: str) -> Comprobante:
        r = conn.execute(
            f"SELECT b.*, s.nombre AS servicio, r.nombre AS recurso FROM {self.kind.table} b"
            " JOIN servicios s ON s.id = b.servicio_id JOIN recursos r ON r.id = b.recurso_id"
            " WHERE b.codigo = ?",
            (code,),
        ).fetchone()
        return Comprobante(
            codigo=r["codigo"],
            estado=r["estado"],
            servicio=r["servicio"],
            fecha=r["fecha"],
            dia=format_date(date.fromisoformat(r["fecha"])),
            hora=r["hora"],
            nombre_cliente=r["nombre_cliente"],
            telefono=r["telefono"],
            personas=r["personas"],
            atendido_por=r["recurso"],
            mensaje=mensaje,
        )

    def create(
        self,
        servicio: str,
        fecha: str,
        hora: str,
        nombre_cliente: str,
        telefono: str,
        personas: int,
        now: datetime,
        preferido: str = "",
    ) -> Comprobante:
        svc, day = self.check_day(servicio, fecha, now)
        at = sch.require_time(hora)
        sch.require_slot_start(svc.nombre, svc.windows, svc.duracion_min, day, at, now)
        nombre, phone = clean_name(nombre_cliente), clean_phone(telefono)
        if personas < 1:
            raise ToolError("La cantidad de personas debe ser al menos 1.")
        if personas > svc.capacidad:
            raise ToolError(
                f"{svc.nombre} admite hasta {svc.capacidad} "
                f"{'persona' if svc.capacidad == 1 else 'personas'}; pediste {personas}. "
                "Elige un servicio de mayor capacidad."
            )
        try:
            with transaction(self.db_path) as tx:
                rid, _ = self._pick(tx, svc, day, at, now, preferido)
                code, ts = new_code(tx, self.kind.table, self.kind.code_prefix), timestamp()
                tx.execute(
                    f"INSERT INTO {self.kind.table} (codigo, servicio_id, recurso_id, fecha, hora,"
                    " nombre_cliente, telefono, personas, creado_en, actualizado_en)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        code,
                        svc.id,
                        rid,
                        day.isoformat(),
                        f"{at:%H:%M}",
                        nombre,
                        phone,
                        personas,
                        ts,
                        ts,
                    ),
                )
                return self._receipt(
                    tx, code, f"{self.kind.noun.capitalize()} confirmada con código {code}."
                )
        except sqlite3.IntegrityError as exc:
            raise ToolError(
                f"El horario de las {at:%H:%M} ya está ocupado para {svc.nombre}."
            ) from exc

    def _confirmed(self, tx: sqlite3.Connection, codigo: str) -> sqlite3.Row:
        code = normalize(codigo or "").upper().replace(" ", "")
        row = tx.execute(f"SELECT * FROM {self.kind.table} WHERE codigo = ?", (code,)).fetchone()
        if row is None:
            raise ToolError(f"No encontramos ninguna {self.kind.noun} con el código '{codigo}'.")
        if row["estado"] != "confirmada":
            raise ToolError(f"La {self.kind.noun} {code} ya estaba cancelada.")
        return row

    def find(self, codigo: str) -> Comprobante:
        """A confirmed booking by code, else a Spanish ToolError."""
        with reading(self.db_path) as conn:
            row = self._confirmed(conn, codigo)
            return self._receipt(conn, row["codigo"], f"{self.kind.noun.capitalize()} confirmada.")

    def cancel(self, codigo: str) -> Comprobante:
        with transaction(self.db_path) as tx:
            row = self._confirmed(tx, codigo)
            tx.execute(
                f"UPDATE {self.kind.table} SET estado = 'cancelada', actualizado_en = ?"
                " WHERE id = ?",
                (timestamp(), row["id"]),
            )
            return self._receipt(
                tx, row["codigo"], f"{self.kind.noun.capitalize()} {row['codigo']} cancelada."
            )

    def reschedule(self, codigo: str, fecha: str, hora: str, now: datetime) -> Comprobante:
        try:
            with transaction(self.db_path) as tx:
                row = self._confirmed(tx, codigo)
                svc, day = self.check_day(row["servicio_id"], fecha, now)
                at = sch.require_time(hora)
                sch.require_slot_start(svc.nombre, svc.windows, svc.duracion_min, day, at, now)
                current = next(n for rid, n in svc.recursos if rid == row["recurso_id"])
                free = {h.hora: h.disponibles for h in self._free(tx, svc, day, now, row["id"])}
                keep = current if current in free.get(f"{at:%H:%M}", []) else ""
                rid, _ = self._pick(tx, svc, day, at, now, keep, ignore_id=row["id"])
                tx.execute(
                    f"UPDATE {self.kind.table} SET fecha = ?, hora = ?, recurso_id = ?,"
                    " actualizado_en = ? WHERE id = ?",
                    (day.isoformat(), f"{at:%H:%M}", rid, timestamp(), row["id"]),
                )
                return self._receipt(
                    tx,
                    row["codigo"],
                    f"{self.kind.noun.capitalize()} {row['codigo']} reprogramada.",
                )
        except sqlite3.IntegrityError as exc:
            raise ToolError("Ese horario ya está ocupado. Elige otro.") from exc
