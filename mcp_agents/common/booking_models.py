"""Catalogue seeds, the service record and the tool result models of the booking agents."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import time

from pydantic import BaseModel, Field

from .schedule import Window
from .text import Option


@dataclass(frozen=True)
class ServiceSeed:
    """One demo service: opening windows per weekday and the resources that serve it."""

    id: str
    nombre: str
    descripcion: str
    duracion_min: int
    hours: tuple[tuple[int, str, str], ...]
    recursos: tuple[str, ...]
    capacidad: int = 1
    precio_centimos: int | None = None
    palabras_clave: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    """A service as stored: its windows and (resource id, name) pairs."""

    id: str
    nombre: str
    descripcion: str
    duracion_min: int
    capacidad: int
    precio_centimos: int | None
    palabras_clave: tuple[str, ...]
    windows: list[Window] = field(default_factory=list)
    recursos: list[tuple[int, str]] = field(default_factory=list)

    def option(self) -> Option:
        return Option(self.id, self.nombre, self.palabras_clave)


def weekly(days: Iterable[int], *spans: tuple[str, str]) -> tuple[tuple[int, str, str], ...]:
    """Opening windows (weekday, opens, closes) for each day (0 = lunes) and each span."""
    return tuple((day, opens, closes) for day in days for opens, closes in spans)


def seed_services(tx: sqlite3.Connection, seeds: Iterable[ServiceSeed]) -> None:
    """Insert the demo catalogue (called once, inside the init transaction)."""
    for s in seeds:
        tx.execute(
            "INSERT INTO servicios (id, nombre, descripcion, duracion_min, capacidad,"
            " precio_centimos, palabras_clave) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                s.id,
                s.nombre,
                s.descripcion,
                s.duracion_min,
                s.capacidad,
                s.precio_centimos,
                " ".join(s.palabras_clave),
            ),
        )
        for weekday, opens, closes in s.hours:
            tx.execute("INSERT INTO horarios VALUES (?, ?, ?, ?)", (s.id, weekday, opens, closes))
        for name in s.recursos:
            tx.execute("INSERT OR IGNORE INTO recursos (nombre) VALUES (?)", (name,))
            tx.execute(
                "INSERT INTO servicio_recursos SELECT ?, id FROM recursos WHERE nombre = ?",
                (s.id, name),
            )


def load_services(conn: sqlite3.Connection) -> list[Service]:
    """Every service with its windows and resources, in catalogue order."""
    services = []
    for row in conn.execute("SELECT * FROM servicios ORDER BY rowid"):
        windows = [
            Window(
                h["dia_semana"], time.fromisoformat(h["apertura"]), time.fromisoformat(h["cierre"])
            )
            for h in conn.execute("SELECT * FROM horarios WHERE servicio_id = ?", (row["id"],))
        ]
        recursos = [
            (r["id"], r["nombre"])
            for r in conn.execute(
                "SELECT r.id, r.nombre FROM recursos r JOIN servicio_recursos sr"
                " ON sr.recurso_id = r.id WHERE sr.servicio_id = ? ORDER BY r.id",
                (row["id"],),
            )
        ]
        services.append(
            Service(
                row["id"],
                row["nombre"],
                row["descripcion"],
                row["duracion_min"],
                row["capacidad"],
                row["precio_centimos"],
                tuple(row["palabras_clave"].split()),
                windows,
                recursos,
            )
        )
    return services


def money(centimos: int) -> str:
    """'S/ 12.50'."""
    return f"S/ {centimos / 100:,.2f}"


class ServicioInfo(BaseModel):
    id: str = Field(description="Identificador del servicio")
    nombre: str
    descripcion: str
    duracion_minutos: int
    capacidad_maxima: int = Field(description="Máximo de personas por reserva")
    precio: str | None = Field(default=None, description="Precio en soles, si aplica")
    horario: str = Field(description="Días y horas de atención")
    atendido_por: list[str] = Field(description="Espacios o profesionales que lo atienden")


class HorarioLibre(BaseModel):
    hora: str = Field(description="Hora de inicio HH:MM")
    disponibles: list[str] = Field(description="Espacios o profesionales libres a esa hora")


class Disponibilidad(BaseModel):
    servicio: str
    fecha: str
    dia: str
    horarios_libres: list[HorarioLibre]
    mensaje: str


class Comprobante(BaseModel):
    codigo: str = Field(description="Código para consultar, cancelar o reprogramar")
    estado: str = Field(description="confirmada o cancelada")
    servicio: str
    fecha: str
    dia: str
    hora: str
    nombre_cliente: str
    telefono: str
    personas: int
    atendido_por: str
    mensaje: str


class Catalogo(BaseModel):
    servicios: list[ServicioInfo]
