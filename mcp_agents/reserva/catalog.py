"""Demo catalogue of the reserva agent: a restaurant, a football court, a spa and a meeting room."""

from __future__ import annotations

from mcp_agents.common.booking_models import ServiceSeed, weekly

RESTAURANT = weekly(range(1, 7), ("12:00", "23:00"))  # closed on Mondays
EVERY_DAY = weekly(range(7), ("08:00", "23:00"))
SPA = weekly(range(6), ("09:00", "20:00"))
OFFICE = weekly(range(5), ("08:00", "13:00"), ("14:00", "18:00"))

SERVICES: tuple[ServiceSeed, ...] = (
    ServiceSeed(
        "mesa-2",
        "Mesa para 2",
        "Mesa para dos personas en el restaurante.",
        60,
        RESTAURANT,
        ("Mesa 2-A", "Mesa 2-B", "Mesa 2-C", "Mesa 2-D"),
        capacidad=2,
        palabras_clave=("mesa", "restaurante", "cena", "almuerzo", "pareja"),
    ),
    ServiceSeed(
        "mesa-4",
        "Mesa para 4",
        "Mesa para cuatro personas en el restaurante.",
        60,
        RESTAURANT,
        ("Mesa 4-A", "Mesa 4-B", "Mesa 4-C"),
        capacidad=4,
        palabras_clave=("mesa", "restaurante", "cena", "almuerzo", "familia"),
    ),
    ServiceSeed(
        "mesa-6",
        "Mesa para 6",
        "Mesa grande para seis personas en la terraza.",
        60,
        RESTAURANT,
        ("Mesa 6-Terraza",),
        capacidad=6,
        palabras_clave=("mesa", "restaurante", "cena", "almuerzo", "grupo", "terraza"),
    ),
    ServiceSeed(
        "cancha-futbol",
        "Cancha de fútbol 7",
        "Cancha sintética con iluminación, por hora.",
        60,
        EVERY_DAY,
        ("Cancha sintética",),
        capacidad=14,
        precio_centimos=12000,
        palabras_clave=("cancha", "futbol", "fulbito", "pichanga", "partido"),
    ),
    ServiceSeed(
        "masaje-relajante",
        "Masaje relajante",
        "Masaje de cuerpo completo con aceites.",
        60,
        SPA,
        ("Cabina 1", "Cabina 2"),
        precio_centimos=9000,
        palabras_clave=("masaje", "spa", "relajante", "relajacion", "masajes"),
    ),
    ServiceSeed(
        "sala-reuniones",
        "Sala de reuniones",
        "Sala para 8 personas con proyector.",
        60,
        OFFICE,
        ("Sala Miraflores",),
        capacidad=8,
        precio_centimos=5000,
        palabras_clave=("sala", "reunion", "reuniones", "oficina", "proyector"),
    ),
)
