"""The agent roster: the one list of specialist agents, and what the code knows of each by name."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

Transport = Literal["mcp", "http"]
Mode = Literal["auto", "chat", "tools"]
BodyShape = Literal["flat", "context"]


@dataclass(frozen=True)
class KnownAgent:
    """What the project knows of an agent by its name: prompt text, offline words, default port."""

    description: str
    """What the agent does, in Spanish, for the router's prompt."""
    offer: str
    """How the offline router offers it ("¿En qué te puedo ayudar? Puedo ayudarte a <offer>")."""
    vocabulary: tuple[str, ...]
    """The offline router's vocabulary classes that point at this agent (graph/offline/lexicon)."""
    port: int | None = None
    """The reference MCP server's port (`make run`), when the project ships one."""


KNOWN_AGENTS: dict[str, KnownAgent] = {
    "reserva": KnownAgent(
        "reservas de turnos y recursos: mesas, canchas, salas, habitaciones, tratamientos; "
        "consultar, cambiar o cancelar una reserva",
        "hacer una reserva",
        ("reserva",),
        8003,
    ),
    "cita": KnownAgent(
        "citas y reuniones con un profesional: consultas, asesorías, demostraciones; "
        "agendarlas, reprogramarlas o cancelarlas",
        "agendar una cita",
        ("cita",),
        8002,
    ),
    "venta": KnownAgent(
        "ventas: productos, precios, cotizaciones, stock, promociones, pedidos y su entrega",
        "comprar nuestros productos",
        ("venta",),
        8001,
    ),
    "citas_ventas": KnownAgent(
        "citas con un profesional y ventas: agendar, reprogramar o cancelar citas; productos, "
        "precios, cotizaciones y pedidos",
        "agendar una cita o comprar nuestros productos",
        ("cita", "venta"),
    ),
}
"""The reference agents (and the production citas_ventas): adding one touches only this table
and, for the offline router, its vocabulary in graph/offline/lexicon.py."""

REFERENCE_AGENTS: tuple[str, ...] = tuple(n for n, a in KNOWN_AGENTS.items() if a.port)
"""The agents started by `make run` and used when no agent is declared."""


@dataclass(frozen=True)
class AgentSpec:
    """One agent of the roster: how to reach it and how to talk to it."""

    name: str
    url: str
    transport: Transport = "mcp"
    enabled: bool = True
    description: str = ""
    mode: Mode = "auto"
    """MCP only: `chat` calls the conversational tool, `tools` runs a tool loop, `auto` picks."""
    tool: str | None = None
    """MCP only: the conversational tool's name (None: `chat`, else `<name>_chat`)."""
    body: BodyShape = "flat"
    """HTTP only: `flat` ({message, session_id, id_empresa, api_key, config}) or `context`."""
    token: str | None = field(default=None, repr=False)
    """HTTP only: sent as X-Internal-Token."""
    timeout: float | None = None
    """Seconds per call attempt (None: the global AGENT_TIMEOUT)."""
    retry_on: frozenset[str] = frozenset()
    """Failures retried beyond the safe ones: HTTP statuses ("502"), `timeout`, `dropped`."""
    api_key: str | None = field(default=None, repr=False)
    """HTTP `flat` only: the `api_key` sent when the turn brings no company key (a secret)."""
    clear_command: str | None = None
    """A message that empties the agent's memory of a conversation (e.g. `/clear`)."""

    @property
    def known(self) -> KnownAgent | None:
        """The project's knowledge of this agent by name (None for an agent it has never seen)."""
        return KNOWN_AGENTS.get(self.name)

    @property
    def summary(self) -> str:
        """The description for prompts: the declared one, else the known default, else the name."""
        known = self.known
        return self.description or (known.description if known else self.name.replace("_", " "))

    @property
    def offer(self) -> str:
        """What the offline router offers for this agent."""
        known = self.known
        return known.offer if known else f"ayudarte con {self.summary}"

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The offline vocabulary classes of this agent (empty: route by its description)."""
        known = self.known
        return known.vocabulary if known else ()


class Roster:
    """The agents a deployment declared, in a stable order; the only list of agents in the code."""

    def __init__(self, specs: Sequence[AgentSpec]) -> None:
        self._specs = {spec.name: spec for spec in specs}

    def __iter__(self) -> Iterator[AgentSpec]:
        return iter(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def get(self, name: str) -> AgentSpec | None:
        """One agent by name (None when it is not in the roster)."""
        return self._specs.get(name)

    @property
    def all_names(self) -> tuple[str, ...]:
        """Every declared agent, enabled or not."""
        return tuple(self._specs)

    @property
    def enabled(self) -> tuple[AgentSpec, ...]:
        """The agents that may be routed to."""
        return tuple(spec for spec in self._specs.values() if spec.enabled)

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the enabled agents, in a stable order."""
        return tuple(spec.name for spec in self.enabled)


def reference_roster(host: str = "127.0.0.1") -> Roster:
    """The reference MCP agents on their default ports (what `make run` starts)."""
    return Roster(
        [
            AgentSpec(name, f"http://{host}:{KNOWN_AGENTS[name].port}/mcp")
            for name in REFERENCE_AGENTS
        ]
    )
