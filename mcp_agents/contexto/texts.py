"""Demo company descriptions served by the business-context service (Spanish, for end users)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

COMPANIES: Mapping[int, str] = MappingProxyType(
    {
        1: (
            "Restaurante El Sabor Limeño. Cocina criolla y marina. Dirección: Av. José Larco 812, "
            "Miraflores, Lima. Horario: martes a domingo de 12:00 a 23:00; los lunes cerramos. "
            "Reservas de mesas para 2, 4 y 6 personas; la terraza admite grupos de hasta 6. "
            "Medios de pago: efectivo, tarjetas Visa y Mastercard, Yape y Plin. Delivery propio en "
            "Miraflores, San Isidro y Barranco (S/ 5.00) y por Rappi. Estacionamiento gratuito por "
            "2 horas. Celular y WhatsApp: 987 654 321."
        ),
        2: (
            "Clínica Dental Sonrisa Feliz. Dirección: Calle Los Laureles 245, San Isidro, Lima. "
            "Horario: lunes a viernes de 09:00 a 13:00 y de 15:00 a 19:00; sábados de 09:00 a "
            "13:00. Servicios: consulta dental (S/ 80), limpieza, ortodoncia y nutrición. Atienden "
            "la Dra. Ana Torres y el Dr. Luis Ramos. Medios de pago: efectivo, tarjetas, Yape y "
            "transferencia BCP. Trabajamos con Pacífico y Rímac EPS. Las citas se pueden "
            "reprogramar hasta 24 horas antes."
        ),
        3: (
            "Café Kenko, cafetería y pastelería. Dirección: Jr. Batallón Ayacucho 271, Barranco, "
            "Lima. Horario: todos los días de 08:00 a 21:00. Café peruano de Chanchamayo y Villa "
            "Rica, postres caseros, empanadas y sándwiches. Medios de pago: efectivo, tarjetas, "
            "Yape y Plin. Delivery en Barranco, Miraflores, Chorrillos y Surco por S/ 5.00 (pedido "
            "mínimo S/ 20). También recojo en tienda. Pedidos corporativos con 48 horas de "
            "anticipación."
        ),
        4: (
            "Complejo Deportivo La Pichanga. Dirección: Av. Primavera 1540, Santiago de Surco, "
            "Lima. Horario: todos los días de 08:00 a 23:00. Cancha sintética de fútbol 7 con "
            "iluminación (S/ 120 la hora), vestuarios y duchas. Spa con masajes relajantes de "
            "lunes a sábado. Medios de pago: efectivo, Yape, Plin y tarjetas. La reserva se "
            "confirma con el pago por Yape del 50 %."
        ),
    }
)

GENERIC = (
    "Empresa atendida por el asistente MaravIA. Atendemos de lunes a sábado de 09:00 a 18:00 "
    "(hora de Lima). Medios de pago: efectivo, transferencia, Yape y Plin. Para consultas que el "
    "asistente no pueda resolver, un asesor te contactará por WhatsApp."
)


def context_for(id_empresa: int) -> str:
    """The demo text of a company, or the generic text for any other id."""
    return COMPANIES.get(id_empresa, GENERIC)
