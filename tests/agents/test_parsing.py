"""Unit tests of the shared Spanish parsing used by every chat tool (no server needed)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from mcp_agents.common.dates import now_from_config, parse_date, parse_time
from mcp_agents.common.dialogue import (
    is_greeting_only,
    parse_code,
    parse_name,
    parse_people,
    parse_phone,
)
from mcp_agents.common.text import Option, best_matches, normalize

pytestmark = pytest.mark.fast  # pure and in memory: part of `make test-fast`

THURSDAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hoy", THURSDAY),
        ("MAÑANA", date(2026, 11, 27)),
        ("pasado mañana", date(2026, 11, 28)),
        ("el sábado", date(2026, 11, 28)),
        ("el jueves", date(2026, 12, 3)),
        ("el lunes", date(2026, 11, 30)),
        ("el 28", date(2026, 11, 28)),
        ("el 3", date(2026, 12, 3)),
        ("26/11", THURSDAY),
        ("2/1", date(2027, 1, 2)),
        ("2026-11-28", date(2026, 11, 28)),
        ("30 de noviembre", date(2026, 11, 30)),
        ("5 de enero de 2027", date(2027, 1, 5)),
        ("mañana a las 10 de la mañana", date(2026, 11, 27)),
        ("a las 10 de la mañana", None),
        ("31/02", None),
        ("para 4 personas", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text, THURSDAY) == expected


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("a las 5", time(17)),
        ("a las 10", time(10)),
        ("8pm", time(20)),
        ("8 pm", time(20)),
        ("20:00", time(20)),
        ("a las 8 de la noche", time(20)),
        ("5 de la tarde", time(17)),
        ("a las 10 de la mañana", time(10)),
        ("a las 8 y media", time(8, 30)),
        ("al mediodía", time(12)),
        ("15h", time(15)),
        ("a las once", time(11)),
        ("a las 7:30 p.m.", time(19, 30)),
    ],
)
def test_parse_time(text: str, first: time) -> None:
    guess = parse_time(text)
    assert guess is not None and guess.candidates()[0] == first


def test_ambiguous_time_offers_both_halves_of_the_day() -> None:
    guess = parse_time("a las 8")
    assert guess is not None and guess.candidates() == [time(8), time(20)]
    evening = parse_time("a las 20:00")
    assert evening is not None and evening.candidates() == [time(20)]
    assert parse_time("para 4 personas") is None


@pytest.mark.parametrize(
    ("text", "people"),
    [
        ("mesa para 4 el sábado", 4),
        ("somos cuatro", 4),
        ("6 personas", 6),
        ("para una persona", 1),
        ("para el 28", None),
        ("para las 5", None),
        ("para mañana", None),
    ],
)
def test_parse_people(text: str, people: int | None) -> None:
    assert parse_people(text) == people


def test_names_phones_codes_greetings() -> None:
    assert parse_name("Soy Ana Pérez y mi cel es 987654321", expecting=False) == "Ana Pérez"
    assert parse_name("me llamo luis rojas", expecting=False) == "Luis Rojas"
    assert parse_name("carla díaz", expecting=True) == "Carla Díaz"
    assert parse_name("carla díaz", expecting=False) is None
    assert parse_name("sí, a las 5", expecting=True) is None
    assert parse_phone("mi número es +51 987 654 321") == "987654321"
    assert parse_code("cancelar mi reserva rkm482 porfa", "R") == "RKM482"
    assert parse_code("cancelar mi reserva ckm482", "R") is None
    assert is_greeting_only("¡Buenas tardes! ¿Cómo estás?")
    assert not is_greeting_only("Hola, quiero una mesa")


def test_matching_ignores_accents_case_plural_and_typos() -> None:
    options = [
        Option("mesa-4", "Mesa para 4", ("mesa",)),
        Option("mesa-6", "Mesa para 6", ("mesa",)),
        Option("masaje", "Masaje relajante", ("masaje", "spa")),
    ]
    assert normalize("  MASAJE  Relajánte ") == "masaje relajante"
    assert [o.key for o in best_matches("una MESA para 4", options)] == ["mesa-4"]
    assert [o.key for o in best_matches("mesas", options)] == ["mesa-4", "mesa-6"]
    assert [o.key for o in best_matches("un masage", options)] == ["masaje"]
    assert best_matches("piscina", options) == []
    assert best_matches("a las 4", options) == []  # a number alone never names "Mesa para 4"


def test_now_from_config_uses_fecha_iso() -> None:
    assert now_from_config({"fecha_iso": "2026-01-05"}) == datetime(2026, 1, 5)
    assert now_from_config({"fecha_iso": "no es fecha"}).year >= 2026
    assert now_from_config(None).year >= 2026
