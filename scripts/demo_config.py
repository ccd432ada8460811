"""The demo bot configuration (a Lima restaurant) shared by `make demo`, benchmarks and tests."""

from datetime import date, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from mcp_agents.common.dates import MONTHS, WEEKDAYS

LIMA = ZoneInfo("America/Lima")

DEMO_CONFIG: MappingProxyType[str, Any] = MappingProxyType(
    {
        "nombre_bot": "Valeria",
        "id_empresa": 1,
        "rol_bot": "asistente virtual",
        "tipo_bot": "restaurante",
        "objetivo_principal": "atender consultas, reservas y ventas",
        "frase_saludo": "¡Hola! Soy Valeria, ¿en qué te ayudo?",
        "frase_des": "¡Gracias por escribirnos! Que tengas un buen día.",
        "frase_no_sabe": "Déjame consultarlo con el equipo y te confirmo en breve.",
        "temas_esc": "reclamos, devoluciones, facturación",
        "frase_esc": "Te comunico con una persona de nuestro equipo.",
        "fecha_iso": "2026-11-26",
        "fecha_formateada": "jueves 26 de noviembre de 2026",
        "agendar_usuario": "1",
        "agendar_sucursal": 0,
    }
)


def spanish_date(day: date) -> str:
    """`jueves 26 de noviembre de 2026`: the `fecha_formateada` n8n sends."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]} de {day.year}"


def dated_config(today: date | None = None) -> dict[str, Any]:
    """The demo bot with today's date in Lima (`fecha_iso`, `fecha_formateada`), as n8n sends
    it every turn: the agents book "el sábado" relative to it, never to a date in the past."""
    day = today or datetime.now(LIMA).date()
    return {**DEMO_CONFIG, "fecha_iso": day.isoformat(), "fecha_formateada": spanish_date(day)}
