"""Demo catalogue of the cita agent: dental, nutrition, accounting advice and product demos."""

from __future__ import annotations

from mcp_agents.common.booking_models import ServiceSeed, weekly

CLINIC = weekly(range(5), ("09:00", "13:00"), ("15:00", "19:00")) + weekly([5], ("09:00", "13:00"))
NUTRITION = weekly((0, 2, 4), ("09:00", "13:00"))
OFFICE = weekly(range(5), ("09:00", "13:00"), ("14:00", "18:00"))
DEMO = weekly(range(5), ("10:00", "17:00"))

SERVICES: tuple[ServiceSeed, ...] = (
    ServiceSeed(
        "consulta-dental",
        "Consulta dental",
        "Evaluación y limpieza dental.",
        30,
        CLINIC,
        ("Dra. Ana Torres", "Dr. Luis Ramos"),
        precio_centimos=8000,
        palabras_clave=("dental", "dentista", "dientes", "muela", "limpieza", "odontologo"),
    ),
    ServiceSeed(
        "nutricion",
        "Consulta de nutrición",
        "Plan de alimentación personalizado.",
        45,
        NUTRITION,
        ("Lic. Carla Ríos",),
        precio_centimos=7000,
        palabras_clave=("nutricion", "nutricionista", "dieta", "peso", "alimentacion"),
    ),
    ServiceSeed(
        "asesoria-contable",
        "Asesoría contable",
        "Asesoría tributaria para negocios y RUC.",
        60,
        OFFICE,
        ("CPC Jorge Paredes",),
        precio_centimos=10000,
        palabras_clave=("asesoria", "contable", "contador", "impuestos", "sunat", "tributaria"),
    ),
    ServiceSeed(
        "demo-sistema",
        "Demo del sistema",
        "Demostración en línea del sistema MaravIA.",
        30,
        DEMO,
        ("Sofía Vargas",),
        precio_centimos=0,
        palabras_clave=("demo", "demostracion", "sistema", "software", "prueba"),
    ),
)
