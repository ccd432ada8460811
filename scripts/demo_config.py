"""The demo bot configuration (a Lima restaurant) shared by `make demo`, benchmarks and tests."""

from types import MappingProxyType
from typing import Any

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
