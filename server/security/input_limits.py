"""Limits on a parsed chat request: message length, session id, and the size and shape of config."""

import math
import re
from typing import Any

from graph.text_clean import is_storable
from server.errors import ApiError
from server.schemas import ChatRequest

MAX_SESSION_ID_CHARS = 256
MAX_CONFIG_DEPTH = 5
MAX_CONFIG_ITEMS = 200
MAX_CONFIG_STRING_CHARS = 4000
INT64 = 2**63 - 1
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")

MESSAGE_TOO_LONG = "El campo 'message' supera el máximo de {limit} caracteres"
SESSION_TOO_LONG = f"El campo 'session_id' supera el máximo de {MAX_SESSION_ID_CHARS} caracteres"
BAD_TEXT = "El campo '{field}' contiene caracteres no válidos"
CONFIG_TOO_BIG = (
    f"El campo 'config' es demasiado grande o está demasiado anidado (máximo "
    f"{MAX_CONFIG_DEPTH} niveles, {MAX_CONFIG_ITEMS} elementos y "
    f"{MAX_CONFIG_STRING_CHARS} caracteres por texto)"
)
BAD_NUMBER = "El campo '{field}' contiene un número fuera de rango"


def check_chat_input(request: ChatRequest, max_message_chars: int) -> None:
    """400 (ApiError) naming the field when the request is too large or holds unusable text."""
    if len(request.message) > max_message_chars:
        raise ApiError(400, MESSAGE_TOO_LONG.format(limit=max_message_chars))
    if not is_storable(request.message):
        raise ApiError(400, BAD_TEXT.format(field="message"))
    if len(request.session_key) > MAX_SESSION_ID_CHARS:
        raise ApiError(400, SESSION_TOO_LONG)
    if not is_storable(request.session_key):
        raise ApiError(400, BAD_TEXT.format(field="session_id"))
    _check_config(request.config.model_dump(mode="python", exclude_unset=True))


def _check_config(config: dict[str, Any]) -> None:
    items = 0
    stack: list[tuple[Any, int, str]] = [(config, 1, "config")]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, dict):
            items += len(value)
            children = [(key, field) for key in value]
            children += [(child, _child_field(field, key)) for key, child in value.items()]
        elif isinstance(value, list):
            items += len(value)
            children = [(child, field) for child in value]
        else:
            _check_scalar(value, field)
            continue
        if depth > MAX_CONFIG_DEPTH or items > MAX_CONFIG_ITEMS:
            raise ApiError(400, CONFIG_TOO_BIG)
        stack.extend((child, depth + 1, name) for child, name in children)


def _child_field(field: str, key: Any) -> str:
    """`config.key` for a plain, short key (else the parent's name: never echo odd text)."""
    if field == "config" and isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return f"config.{key}"
    return field


def _check_scalar(value: Any, field: str) -> None:
    if isinstance(value, str):
        if len(value) > MAX_CONFIG_STRING_CHARS:
            raise ApiError(400, CONFIG_TOO_BIG)
        if not is_storable(value):
            raise ApiError(400, BAD_TEXT.format(field=field))
    elif isinstance(value, bool) or value is None:
        return
    elif (isinstance(value, int) and not -INT64 - 1 <= value <= INT64) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise ApiError(400, BAD_NUMBER.format(field=field))
