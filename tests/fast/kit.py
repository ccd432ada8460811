"""The fast tier's toolkit: the real graph in memory with a fake chat model and in-process agents.

Everything is built through the real factory (`graph.builder.build_graph` over `GraphDeps`, a real
`AgentRegistry` with its guard, breaker and retries); only the outside world is fake: the chat
model (LangChain's GenericFakeChatModel taught to answer with tool calls), the agents (objects
implementing `graph.agents.transport.AgentTransport`, no sockets) and the checkpointer
(LangGraph's InMemorySaver). How a test reads the router's decision lives here only
(`decision_field`), so a change of its type is adapted in one place.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from pydantic import Field

from graph.agents.registry import AgentRegistry
from graph.agents.resilience import ResiliencePolicy
from graph.agents.roster import AgentSpec, Roster
from graph.agents.transport import AgentCall, AgentFailed, AgentReply
from graph.builder import build_graph
from graph.business_context import BusinessContextClient
from graph.context import TurnContext
from graph.deps import GraphDeps, TurnModel

HANG = "hang"
"""A script step that never answers (until the caller's timeout cancels it)."""

CONFIG: dict[str, Any] = {
    "nombre_bot": "Valeria",
    "id_empresa": 12,
    "rol_bot": "asistente virtual",
    "tipo_bot": "restaurante",
    "objetivo_principal": "tomar reservas",
    "frase_saludo": "¡Hola! Soy Valeria de La Huerta Criolla, ¿en qué te ayudo hoy?",
    "frase_des": "¡Gracias por escribirnos! Que tengas un buen día.",
    "frase_no_sabe": "Déjame consultarlo con el equipo y te confirmo en breve.",
    "temas_esc": "reclamos, devoluciones, facturación",
    "frase_esc": "Te comunico con una persona de nuestro equipo para ayudarte mejor.",
}
"""A restaurant bot's config, as the server passes it in TurnContext.bot_config."""


# -- the router's decision, read in one place --------------------------------------------------
def decision_field(decision: Any, name: str) -> Any:
    """A field of a decision, whether it is a RouteDecision (attribute) or a dict (key)."""
    if decision is None:
        return None
    if isinstance(decision, Mapping):
        return decision.get(name)
    return getattr(decision, name, None)


def decision_tuple(decision: Any) -> tuple[Any, Any, Any]:
    """(action, agent, intent) of a decision."""
    action, agent, intent = (decision_field(decision, key) for key in ("action", "agent", "intent"))
    return action, agent, intent


# -- the chat model ----------------------------------------------------------------------------
def decide(
    action: str = "respond",
    agent: str | None = None,
    reply: str | None = None,
    intent: str = "other",
    **extra: Any,
) -> AIMessage:
    """The model's structured answer: one `RouteDecision` tool call (what OpenAI would send)."""
    args = {"action": action, "agent": agent, "reply": reply, "intent": intent, **extra}
    return AIMessage("", tool_calls=[{"name": "RouteDecision", "args": args, "id": "call_1"}])


class ScriptedChatModel(GenericFakeChatModel):
    """GenericFakeChatModel that binds tools (so `with_structured_output` works), records every
    prompt it is sent, raises scripted exceptions and can hang."""

    messages: Any = None  # GenericFakeChatModel's iterator, fed from `script`
    script: list[Any] = Field(default_factory=list)
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    bound: list[dict[str, Any]] = Field(default_factory=list)

    def __init__(self, *steps: Any, **kwargs: Any) -> None:
        super().__init__(messages=iter(()), script=list(steps), prompts=[], bound=[], **kwargs)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, Any]:
        """Record the tools (the decision schema) and bind them like a real model does."""
        self.bound.append({"tools": list(tools), **kwargs})
        return self.bind(tools=list(tools), **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prompts.append(list(messages))
        if not self.script:
            raise AssertionError("the fake model was called more often than scripted")
        step = self.script.pop(0)
        if step == HANG:
            await asyncio.Event().wait()
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            step = step(messages)
        self.messages = iter([step])
        return self._generate(messages, stop=stop, **kwargs)

    @property
    def calls(self) -> int:
        """How many times the model was called."""
        return len(self.prompts)


class Models:
    """The graph's ModelSource: one TurnModel per key, recording the keys asked for."""

    def __init__(self, model: ScriptedChatModel | None) -> None:
        self.model = model
        self.keys: list[str | None] = []
        self._turn_model = TurnModel(model) if model is not None else None

    def get(self, api_key: str | None) -> TurnModel | None:
        self.keys.append(api_key)
        return self._turn_model


# -- the agents --------------------------------------------------------------------------------
@dataclass
class FakeAgent:
    """An in-process agent transport: each call takes the next scripted step (a reply text, an
    AgentReply, an exception to raise, HANG, or a callable of the AgentCall); the last step
    repeats. Records every call with the timeout it was given."""

    steps: list[Any] = field(default_factory=lambda: ["Listo, ¿para cuántas personas?"])
    calls: list[tuple[AgentCall, float]] = field(default_factory=list)
    up: bool = True
    started: int = 0
    closed: int = 0

    async def start(self) -> None:
        self.started += 1

    async def aclose(self) -> None:
        self.closed += 1

    async def reachable(self) -> bool:
        return self.up

    async def chat(self, call: AgentCall, timeout: float) -> AgentReply:
        self.calls.append((call, timeout))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if step == HANG:  # no answer: the transport's own timeout ends the call (as HttpAgent)
            await asyncio.sleep(timeout)
            raise AgentFailed("timeout")
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            step = step(call)
        return step if isinstance(step, AgentReply) else AgentReply(step)

    @property
    def messages(self) -> list[str]:
        """The user messages this agent was handed, in order."""
        return [call.message for call, _ in self.calls]


@dataclass
class Events:
    """GraphEvents that record what the graph reported, in order."""

    seen: list[tuple[str, ...]] = field(default_factory=list)

    def llm_fallback(self, reason: str) -> None:
        self.seen.append(("llm_fallback", reason))

    def internal_error(self, where: str) -> None:
        self.seen.append(("internal_error", where))

    def routing_correction(self, modalidad: str, chosen: str) -> None:
        self.seen.append(("routing_correction", modalidad, chosen))

    def turn_timeout(self) -> None:
        self.seen.append(("turn_timeout",))

    def reply_truncated(self) -> None:
        self.seen.append(("reply_truncated",))

    def url_dropped(self, problem: str) -> None:
        self.seen.append(("url_dropped", problem))

    def continuity_correction(self, agent: str) -> None:
        self.seen.append(("continuity_correction", agent))

    def turn_text_cut(self) -> None:
        self.seen.append(("turn_text_cut",))


@dataclass
class Observer:
    """The registry's AgentObserver: (agent, ok, reason) per guarded call."""

    seen: list[tuple[str, bool, str | None]] = field(default_factory=list)

    def agent_call(self, agent: str, ok: bool, seconds: float, reason: str | None) -> None:
        self.seen.append((agent, ok, reason))


def context_client(
    handler: Callable[[httpx.Request], Any], *, timeout: float = 2.0
) -> BusinessContextClient:
    """The real business-context client over an in-process httpx transport (no socket)."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return BusinessContextClient(
        "http://contexto.test/api", http=http, timeout=timeout, ttl=300, failure_ttl=5
    )


# -- the graph ---------------------------------------------------------------------------------
def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the fast tier made a network request: {request.url}")


FAST_POLICY = ResiliencePolicy(
    timeout=5.0, max_attempts=3, backoff=0.0, breaker_threshold=3, breaker_reset=60.0
)
"""Retries without waiting, a breaker that opens after 3 failures in a row."""

_request_ids = itertools.count(1)


@dataclass
class Turn:
    """One turn's outcome: the graph's final values and what each node wrote on the way."""

    values: dict[str, Any]
    updates: list[tuple[str, dict[str, Any]]]

    @property
    def reply(self) -> str:
        return str(self.values["reply"])

    @property
    def decision(self) -> Any:
        """The router's decision this turn (the responder clears it from the state)."""
        for node, update in self.updates:
            if node == "router":
                return update.get("decision")
        return None

    @property
    def nodes(self) -> list[str]:
        """The nodes that ran, in order."""
        return [node for node, _ in self.updates]

    def outcome(self) -> tuple[Any, ...]:
        """(reply, action, agent_used, url, active_agent)."""
        v = self.values
        return (v["reply"], v["action"], v["agent_used"], v.get("url"), v.get("active_agent"))


class Bot:
    """The compiled graph on an InMemorySaver with its fakes, and helpers to run turns."""

    def __init__(
        self,
        agents: Mapping[str, FakeAgent] | Sequence[str] = ("reserva", "cita", "venta"),
        *,
        model: ScriptedChatModel | None = None,
        specs: Sequence[AgentSpec] = (),
        policy: ResiliencePolicy = FAST_POLICY,
        contexts: BusinessContextClient | None = None,
        model_timeout: float = 5.0,
        max_history_turns: int = 10,
        max_reply_chars: int = 4096,
        config: Mapping[str, Any] | None = None,
        saver: InMemorySaver | None = None,
    ) -> None:
        if not isinstance(agents, Mapping):
            agents = {name: FakeAgent() for name in agents}
        self.agents: dict[str, FakeAgent] = dict(agents)
        roster = Roster(
            list(specs) or [AgentSpec(name, f"http://{name}.test/chat") for name in self.agents]
        )
        self.events = Events()
        self.observer = Observer()
        self.models = Models(model)
        self.model = model
        self.saver = saver or InMemorySaver()
        nowhere = httpx.AsyncClient(transport=httpx.MockTransport(_no_network))  # no TLS setup
        self.registry = AgentRegistry(
            roster, policy, http=nowhere, observer=self.observer, transports=self.agents
        )
        self.deps = GraphDeps(
            agents=self.registry,
            contexts=contexts,
            models=self.models if model is not None else None,
            model_timeout=model_timeout,
            max_history_turns=max_history_turns,
            max_reply_chars=max_reply_chars,
            events=self.events,
        )
        self.graph: CompiledStateGraph[Any, Any, Any, Any] = build_graph(
            self.deps, checkpointer=self.saver
        )
        self.config = dict(CONFIG if config is None else config)

    def context(self, session: str = "s1", **overrides: Any) -> TurnContext:
        """The turn's runtime context, as server/turns.py builds it."""
        values: dict[str, Any] = {
            "bot_config": self.config,
            "session_id": session,
            "id_empresa": self.config.get("id_empresa"),
            "request_id": f"req-{next(_request_ids)}",
        }
        values.update(overrides)
        return TurnContext(**values)

    @staticmethod
    def run_config(session: str) -> RunnableConfig:
        return {"configurable": {"thread_id": session}}

    async def turn(self, text: str | None, session: str = "s1", **context: Any) -> Turn:
        """One turn: the user's message in, the final values and each node's update out."""
        graph_input = {"messages": [HumanMessage(text)]} if text is not None else {}
        updates: list[tuple[str, dict[str, Any]]] = []
        values: dict[str, Any] = {}
        item: Any
        async for item in self.graph.astream(
            graph_input,
            self.run_config(session),
            context=self.context(session, **context),
            stream_mode=["updates", "values"],
            durability="exit",
        ):
            mode, chunk = item
            if mode == "updates":
                updates.extend((node, update or {}) for node, update in chunk.items())
            else:
                values = chunk
        return Turn(values, updates)

    async def talk(self, *texts: str, session: str = "s1", **context: Any) -> list[Turn]:
        """Several turns in a row on one session."""
        return [await self.turn(text, session, **context) for text in texts]

    async def stored(self, session: str = "s1") -> dict[str, Any]:
        """The session's checkpointed values."""
        snapshot = await self.graph.aget_state(self.run_config(session))
        return dict(snapshot.values)

    async def stored_texts(self, session: str = "s1") -> list[tuple[str, str]]:
        """The stored conversation as (type, text) pairs."""
        return [(m.type, m.text) for m in (await self.stored(session)).get("messages", [])]

    async def raw_channels(self, session: str = "s1") -> dict[str, Any]:
        """The latest checkpoint's channel values, as the saver holds them."""
        item = await self.saver.aget_tuple(self.run_config(session))
        assert item is not None
        return dict(item.checkpoint["channel_values"])


async def write_checkpoint(saver: InMemorySaver, session: str, values: Mapping[str, Any]) -> None:
    """Store `values` as the session's latest checkpoint, as an older release would have."""
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = dict(values)
    version = saver.get_next_version(None, None)
    checkpoint["channel_versions"] = {key: version for key in values}
    config: RunnableConfig = {"configurable": {"thread_id": session, "checkpoint_ns": ""}}
    versions = dict(checkpoint["channel_versions"])
    await saver.aput(config, checkpoint, {"source": "loop", "step": 3}, versions)


def texts(messages: Sequence[BaseMessage]) -> list[str]:
    """The text of each message."""
    return [message.text for message in messages]
