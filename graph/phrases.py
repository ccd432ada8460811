"""The bot's fixed phrases from its config, with Spanish defaults when the client sent none."""

from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, str] = {
    "frase_saludo": "¡Hola! Soy {nombre_bot}, ¿en qué te puedo ayudar hoy?",
    "frase_des": "¡Gracias por escribirnos! Que tengas un excelente día.",
    "frase_no_sabe": "Disculpa, no tengo esa información en este momento. "
    "¿Te puedo ayudar con algo más?",
    "frase_esc": "Te comunico con una persona de nuestro equipo para ayudarte mejor.",
    "agent_down": "Disculpa, en este momento no puedo atender esa solicitud. "
    "Por favor, inténtalo de nuevo en unos minutos.",
}


def phrase(config: Mapping[str, Any] | None, key: str) -> str:
    """The config's phrase `key` when set, else the default (with the bot's name filled in)."""
    value = (config or {}).get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    name = (config or {}).get("nombre_bot")
    name = name.strip() if isinstance(name, str) and name.strip() else "tu asistente virtual"
    return DEFAULTS[key].format(nombre_bot=name)


def fallback_phrase(config: Mapping[str, Any] | None) -> str:
    """What the user reads when the chosen agent could not answer."""
    value = (config or {}).get("frase_no_sabe")
    if isinstance(value, str) and value.strip():
        return value.strip()
    return DEFAULTS["agent_down"]
