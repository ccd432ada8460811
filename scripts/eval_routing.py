"""Offline router accuracy over a labelled JSONL file: `python -m scripts.eval_routing [FILE]`."""

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph.agents.roster import REFERENCE_AGENTS, reference_roster
from graph.bot_config import BotConfig
from graph.offline.router import route_offline

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = (REPO_ROOT / ".." / "shared" / "data" / "routing_es.jsonl").resolve()

# The demo bot (a restaurant) the labelled examples are judged with.
DEMO_CONFIG: dict[str, Any] = {
    "nombre_bot": "Valeria",
    "id_empresa": 12,
    "rol_bot": "asistente virtual de reservas y ventas",
    "tipo_bot": "restaurante",
    "objetivo_principal": "atender consultas, tomar reservas y vender promociones",
    "frase_saludo": "¡Hola! Soy Valeria de La Huerta Criolla, ¿en qué te ayudo hoy?",
    "personalidad": "amable, cercana y breve",
    "tono_com": "informal respetuoso (tú)",
    "frase_des": "¡Gracias por escribirnos! Que tengas un buen día.",
    "frase_no_sabe": "Déjame consultarlo con el equipo y te confirmo en breve.",
    "modalidad": "presencial y delivery",
    "temas_esc": "reclamos, devoluciones, facturación",
    "frase_esc": "Te comunico con una persona de nuestro equipo para ayudarte mejor.",
    "fecha_formateada": "jueves 26 de noviembre de 2026",
    "fecha_iso": "2026-11-26",
    "duracion_cita_minutos": 90,
    "slots": 4,
}
DEMO_CONTEXT = (
    "La Huerta Criolla es un restaurante de comida peruana en Miraflores, Lima (Av. Larco 812). "
    "Horario: martes a domingo de 12:00 a 23:00; lunes cerrado. Aceptamos Yape, Plin, tarjetas "
    "Visa y Mastercard. Delivery por Rappi y propio dentro de Miraflores, San Isidro y Barranco "
    "(costo S/ 7). Estacionamiento gratuito para clientes. Reservas para grupos de hasta 12 "
    "personas; eventos privados con 72 horas de anticipación. Platos destacados: lomo saltado "
    "(S/ 42), ají de gallina (S/ 36), ceviche clásico (S/ 45). Menú vegetariano disponible."
)
ACTIONS = ("delegate", "respond")


class DataError(Exception):
    """A labelled file that cannot be read (missing, or a malformed line)."""


def _check_case(case: Any, where: str) -> dict[str, Any]:
    if not isinstance(case, dict):
        raise DataError(f"{where}: expected a JSON object")
    if not isinstance(case.get("message"), str):
        raise DataError(f"{where}: 'message' must be a string")
    for key, allowed in (
        ("active_agent", REFERENCE_AGENTS),
        ("expect_agent", REFERENCE_AGENTS),
        ("expect_action", ACTIONS),
    ):
        value = case.get(key)
        if key not in case or (value is not None and value not in allowed):
            raise DataError(f"{where}: '{key}' must be null or one of {', '.join(allowed)}")
    if case["expect_action"] is None:
        raise DataError(f"{where}: 'expect_action' must be one of {', '.join(ACTIONS)}")
    if (case["expect_action"] == "delegate") != (case["expect_agent"] is not None):
        raise DataError(f"{where}: 'expect_agent' must be set exactly when delegating")
    return case


def load_cases(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(label, case) for every non-blank line; DataError names the first bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text ({exc.reason})") from exc
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            case = _check_case(json.loads(line), where)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: invalid JSON ({exc.msg})") from exc
        cases.append((str(case.get("id") or f"line {number}"), case))
    if not cases:
        raise DataError(f"{path}: no labelled cases")
    return cases


def evaluate(cases: Sequence[tuple[str, dict[str, Any]]]) -> tuple[int, list[str], float]:
    """(passed, failure lines, mean milliseconds per routing call)."""
    passed, failures, elapsed = 0, [], 0.0
    for label, case in cases:
        start = time.perf_counter()
        decision = route_offline(
            case["message"],
            active_agent=case["active_agent"],
            enabled_agents=reference_roster().enabled,
            config=BotConfig.from_mapping(DEMO_CONFIG),
            business_context=DEMO_CONTEXT,
        )
        elapsed += time.perf_counter() - start
        expected = (case["expect_action"], case["expect_agent"])
        if (decision.action, decision.agent) == expected:
            passed += 1
        else:
            failures.append(
                f"FAIL {label}: {case['message']!r} (active={case['active_agent']}) expected "
                f"{expected[0]}/{expected[1]} got {decision.action}/{decision.agent} "
                f"[{decision.intent}]"
            )
    return passed, failures, 1000 * elapsed / max(len(cases), 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation; 0 when done, 1 below --min-accuracy, 2 for unreadable data."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=DEFAULT_FILE,
        help=f"labelled JSONL file (default: {DEFAULT_FILE})",
    )
    parser.add_argument(
        "--min-accuracy",
        type=float,
        default=None,
        metavar="FRACTION",
        help="exit 1 when accuracy is below this fraction (e.g. 0.95)",
    )
    args = parser.parse_args(argv)
    try:
        cases = load_cases(args.file)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    passed, failures, mean_ms = evaluate(cases)
    for line in failures:
        print(line)
    print(f"mean routing time: {mean_ms:.3f} ms")
    print(f"accuracy: {passed}/{len(cases)}")
    if args.min_accuracy is not None and passed / len(cases) < args.min_accuracy:
        print(
            f"error: accuracy {passed / len(cases):.3f} is below {args.min_accuracy}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
