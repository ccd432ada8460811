"""`config.modalidad` → the bot's specialist agent (MODALIDAD_AGENTS), matched loosely."""

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from graph.agents.roster import Roster


def normalize(value: str) -> str:
    """Case, accents and surrounding or repeated spaces ignored: " Citas  y  VENTAS " → "citas y
    ventas"."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


@dataclass(frozen=True)
class Modalidad:
    """What a turn's modalidad resolved to."""

    key: str | None
    """The normalized modalidad when recognised (a key of MODALIDAD_AGENTS), else None."""
    agent: str | None
    """Its agent when that agent is in the roster and enabled, else None."""


class ModalidadTable:
    """Resolves a bot's modalidad against the table and the roster."""

    def __init__(self, table: Mapping[str, str], roster: Roster) -> None:
        self._table = {normalize(key): agent.strip().lower() for key, agent in table.items()}
        self._enabled = set(roster.names)

    def resolve(self, value: object) -> Modalidad:
        """Known → its key (and agent when enabled); missing or unknown → Modalidad(None, None)."""
        if not isinstance(value, str) or not value.strip():
            return Modalidad(None, None)
        key = normalize(value)
        agent = self._table.get(key)
        if agent is None:
            return Modalidad(None, None)
        return Modalidad(key, agent if agent in self._enabled else None)
