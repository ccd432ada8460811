"""Free-text extraction shared by the chat tools: people, names, phones, codes and intents."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from .sessions import DialogueMemory
from .text import NUMBER_PATTERN, normalize, to_int, tokens

log = logging.getLogger("mcp_agents.chat")

GREETING_WORDS = frozenset(
    "hola holi hey alo saludos buen buenas buenos dia dias tarde tardes noche noches que tal como"
    " estas esta estan".split()
)
_NOT_A_NAME = re.compile(
    r"\b(hola|si|no|gracias|ok|okay|vale|quiero|reserv\w*|cita|cancel\w*|precio|cuanto|"
    r"horario\w*|manana|hoy|personas?|mesa|por favor|pedido|comprar)\b"
)
_NAME_LEAD = re.compile(
    r"\b(?:me llamo|mi nombre es|a nombre de|soy)\s+"
    r"([^\W\d_][^\W\d_' .-]*(?:\s+[^\W\d_][^\W\d_'.-]*){0,3})",
    re.IGNORECASE,
)
_NAME_STOP = re.compile(
    r"\s+(?:y|mi|con|para|telefono|teléfono|celular|cel|numero|número|el|la)\b.*$", re.IGNORECASE
)


def has_any(norm: str, *stems: str) -> bool:
    """True when a normalized text contains a word starting with one of the stems."""
    return any(re.search(rf"\b{stem}", norm) for stem in stems)


def parse_people(text: str) -> int | None:
    """'para 4', 'somos cuatro', '6 personas' -> number of people."""
    t = normalize(text)
    for pattern in (
        rf"\b({NUMBER_PATTERN})\s+(?:personas?|comensales|adultos|pax)\b",
        rf"\bsomos\s+({NUMBER_PATTERN})\b",
        rf"\bpara\s+({NUMBER_PATTERN})\b(?!\s*(?:de la|[:/.-]\d|am\b|pm\b|h\b|horas?\b))",
    ):
        if m := re.search(pattern, t):
            return to_int(m[1])
    return None


def bare_number(text: str) -> int | None:
    """A message that is only a number ('4', 'cuatro')."""
    t = normalize(text).strip(" .!?¡¿")
    return to_int(t) if re.fullmatch(NUMBER_PATTERN, t) else None


def parse_phone(text: str) -> str | None:
    """A Peruvian mobile number (9 digits starting with 9, optional +51)."""
    if m := re.search(r"(?:\+?51[\s-]?)?\b(9\d{2})[\s-]?(\d{3})[\s-]?(\d{3})\b", text):
        return "".join(m.groups())
    return None


def parse_code(text: str, prefix: str) -> str | None:
    """A booking/order code such as RKM482 (prefix letter, two letters, three digits)."""
    if m := re.search(rf"\b({prefix.lower()}[a-z]{{2}}\d{{3}})\b", normalize(text)):
        return m[1].upper()
    return None


def parse_name(text: str, expecting: bool) -> str | None:
    """'me llamo Ana Pérez' -> 'Ana Pérez'; when a name is expected, a short bare answer."""
    if m := _NAME_LEAD.search(text):
        name = _NAME_STOP.sub("", m[1]).strip(" .,")
        return name.title() if name.islower() else name
    if not expecting:
        return None
    bare = re.sub(r"(?:\+?51)?[\d\s-]{6,}", " ", text)
    bare = re.sub(r"[.,;:!¡?¿]", " ", bare).strip()
    words = bare.split()
    if not 1 <= len(words) <= 4 or _NOT_A_NAME.search(normalize(bare)):
        return None
    if not all(re.fullmatch(r"[^\W\d_][^\W\d_'-]*", w) for w in words):
        return None
    return bare.title() if bare.islower() else " ".join(words)


def is_greeting_only(text: str) -> bool:
    """'Hola', 'buenas tardes, ¿cómo estás?': a greeting with nothing else to act on."""
    words = tokens(text)
    return bool(words) and words[0] in GREETING_WORDS and all(w in GREETING_WORDS for w in words)


def is_thanks(text: str) -> bool:
    return has_any(normalize(text), "gracias", "chau", "adios", "hasta luego")


def wants_reset(norm: str) -> bool:
    return bool(
        re.search(r"\b(olvidalo|dejalo|ya no quiero|empezar de nuevo|empecemos de nuevo)\b", norm)
    )


def bot_name(context: dict[str, Any] | None) -> str:
    config = (context or {}).get("config") or {}
    return (
        str(config.get("nombre_bot") or "tu asistente")
        if isinstance(config, dict)
        else "tu asistente"
    )


def run_dialogue(
    store: DialogueMemory,
    session_id: str,
    message: str,
    step: Callable[[dict[str, Any], str], str],
    fallback: str,
) -> str:
    """Load the session, run one dialogue step, save; never raises for user text."""
    session_id = str(session_id).strip() or "anonimo"
    if not (message or "").strip():
        return fallback
    try:
        state = store.load(session_id)
        reply = step(state, message)
        store.save(session_id, state)
        return reply
    except Exception:  # the chat tool must always answer in Spanish
        log.exception("chat turn failed for session %s", session_id)
        return "Disculpa, tuve un problema al procesar tu mensaje. ¿Puedes intentarlo de nuevo?"
