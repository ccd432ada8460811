"""The bot's configuration as the nodes read it: typed fields, plus every key sent, for agents."""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class BotConfig:
    """The client's bot configuration for one turn (never stored).

    The fields are what the graph itself reads (persona, phrases, date); `values` is everything
    the client sent (unknown keys included), passed through unchanged to the agents.
    """

    nombre_bot: str | None = None
    rol_bot: str | None = None
    tipo_bot: str | None = None
    objetivo_principal: str | None = None
    personalidad: str | None = None
    tono_com: str | None = None
    modalidad: str | None = None
    fecha_formateada: str | None = None
    fecha_iso: str | None = None
    frase_saludo: str | None = None
    frase_des: str | None = None
    frase_no_sabe: str | None = None
    temas_esc: str | None = None
    frase_esc: str | None = None
    archivo_saludo: str | None = None
    """The file or image the bot greets with (sent as `url` on a conversation's first greeting)."""
    values: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """Every key the client sent (with the turn's winning id_empresa), for the agents."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> "BotConfig":
        """The typed view of a config mapping: a field is its value when it is non-blank text."""
        given = dict(values or {})
        typed = {
            name: text.strip()
            for name in _TEXT_FIELDS
            if isinstance(text := given.get(name), str) and text.strip()
        }
        return cls(**typed, values=given)

    def prompt_values(self) -> dict[str, str | int | float | bool]:
        """The scalar, non-blank values sent, as shown to a tool-calling agent's model."""
        return {
            key: value
            for key, value in self.values.items()
            if isinstance(value, (str, int, float, bool)) and str(value).strip()
        }


_TEXT_FIELDS = tuple(f.name for f in fields(BotConfig) if f.name != "values")
