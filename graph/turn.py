"""One conversation turn through the graph: the one door the server (and any other caller) uses.

A caller gives plain values (the conversation's key, the new messages, the turn's context, an
optional events callback) and gets a typed `TurnResult`; node names, state keys, the run config,
the stream and the stored fallback of a run abandoned past its deadline stay in here.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from langchain_core.messages import AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StreamMode

from graph.answer_tokens import answer_token
from graph.context import TurnContext
from graph.decision import Decision, Intent
from graph.human import person_message
from graph.nodes.responder import trim_history
from graph.secret_mask import StreamMasker
from graph.state import AgentResult

log = logging.getLogger(__name__)

DEADLINE_MARGIN = 5.0
"""Seconds past the turn's deadline after which its graph run is abandoned (a safety net: every
model and agent call already ends by the deadline) and the fallback phrase is stored instead."""

TurnEvents = Callable[[str, dict[str, Any]], None]
"""Receives progress events of a turn: ("delegating", {"agent": name}), ("token", {"text": …})."""


@dataclass(frozen=True)
class AgentOutcome:
    """What happened to the turn's agent call."""

    agent: str
    ok: bool
    error: str | None
    """Why it failed ("deadline", "circuit_open", "unreachable", "max_steps", …); None when ok."""


@dataclass(frozen=True)
class TurnResult:
    """The outcome of one turn, as stored in the conversation."""

    reply: str
    action: Literal["delegate", "respond"]
    agent: str | None
    """The agent whose reply this is (None when the orchestrator answered)."""
    url: str | None
    """A file or image link the agent sent with its reply."""
    intent: Intent | None
    """Why the router decided so (None when the router did not decide)."""
    agent_call: AgentOutcome | None
    """The agent call of this turn (None when no agent was called)."""
    abandoned: bool = False
    """The run overran its deadline and was abandoned; the fallback phrase was stored instead."""


class TurnRunner:
    """Runs turns of one compiled orchestrator graph (built by `graph.builder.build_graph`)."""

    def __init__(
        self,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        *,
        max_agent_steps: int,
        deadline_margin: float = DEADLINE_MARGIN,
        max_history_turns: int = 10,
    ) -> None:
        self.graph = graph
        self.max_history_turns = max_history_turns
        self.recursion_limit = 2 * max_agent_steps + 6
        self.deadline_margin = deadline_margin

    def run_config(self, thread_id: str, context: TurnContext) -> RunnableConfig:
        """The LangGraph run config of a turn (thread, trace metadata, step budget)."""
        config: RunnableConfig = {
            "configurable": {"thread_id": thread_id},
            "metadata": {"thread_id": thread_id, "request_id": context.request_id},
            "run_name": "chat_turn",
            "recursion_limit": self.recursion_limit,
        }
        if context.usage is not None:  # every model call of the turn reports its tokens to it
            config["callbacks"] = [context.usage]
        return config

    async def run(
        self,
        thread_id: str,
        messages: Sequence[str],
        context: TurnContext,
        events: TurnEvents | None = None,
    ) -> TurnResult:
        """Run one turn of conversation `thread_id` with the user's new `messages` and store it.

        One checkpoint is written, at the end. A run still going `deadline_margin` seconds past
        the context's deadline is abandoned and the turn is run again: past its deadline the
        router answers the fallback phrase at once, and the responder stores that turn exactly
        like any other (history, counters, bounds)."""
        new = [HumanMessage(text, id=uuid.uuid4().hex) for text in messages]
        config = self.run_config(thread_id, context)
        seen = _Seen()
        budget = asyncio.timeout(self._budget(context))
        try:
            async with budget:
                return await self._run({"messages": new}, config, context, events, seen)
        except TimeoutError:
            if not budget.expired():  # not our safety net: a bug's own timeout
                raise
        log.error("turn overran its deadline; answered with the fallback phrase")
        # The abandoned run may have stored its partial state, with the new messages: they keep
        # their ids, so adding them again replaces them instead of doubling them.
        result = await self._run({"messages": new}, config, context, None, _Seen())
        return replace(result, abandoned=True, agent_call=seen.abandoned_call())

    async def store_customer(self, thread_id: str, messages: Sequence[str]) -> None:
        """Store the customer's new `messages` in conversation `thread_id` without routing them
        (no router, agent or model call): a conversation held by a person (human handoff).

        Each counts as a turn; the history stays bounded by MAX_HISTORY_TURNS."""
        new = [HumanMessage(text, id=uuid.uuid4().hex) for text in messages]
        await self._append(thread_id, new, turns=len(new))

    async def store_person(self, thread_id: str, text: str, author: str) -> None:
        """Store a message a person of the business (`author`) wrote to the customer, as the
        business's message: the router's history shows it once the bot resumes."""
        await self._append(thread_id, [person_message(text, author)], turns=0)

    async def _append(self, thread_id: str, new: Sequence[AnyMessage], *, turns: int) -> None:
        """Append messages to the stored conversation as the responder would (one checkpoint)."""
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        values = (await self.graph.aget_state(config)).values or {}
        messages = [*values.get("messages", []), *new]
        update: dict[str, Any] = {
            "messages": [*new, *trim_history(messages, self.max_history_turns)],
            "turns": values.get("turns", 0) + turns,
        }
        await self.graph.aupdate_state(config, update, as_node="responder")

    def _budget(self, context: TurnContext) -> float | None:
        if context.deadline is None:
            return None
        return max(0.0, context.deadline - time.monotonic()) + self.deadline_margin

    async def _run(
        self,
        graph_input: dict[str, Any],
        config: RunnableConfig,
        context: TurnContext,
        events: TurnEvents | None,
        seen: "_Seen",
    ) -> TurnResult:
        modes: list[StreamMode] = ["updates", "values"]
        if events is not None:
            modes.append("messages")
        state: dict[str, Any] = {}
        masker = StreamMasker(context.api_key)  # live tokens never show the company's key
        async for item in self.graph.astream(
            graph_input,
            config,
            context=context,
            stream_mode=modes,
            subgraphs=events is not None,  # the tool loop's model runs inside a subgraph
            durability="exit",
        ):
            # with a list of modes each item is (mode, chunk), with subgraphs (namespace, mode,
            # chunk); langgraph types it as `dict[str, Any] | Any`
            namespace, mode, chunk = cast(tuple[tuple[str, ...], str, Any], _with_namespace(item))
            if mode == "messages":
                if events is not None and (text := masker.feed(answer_token(*chunk))):
                    events("token", {"text": text})
                continue
            if namespace:  # progress and state come from the top-level graph only
                continue
            if mode == "values":
                state = chunk
                continue
            for update in chunk.values():
                if not isinstance(update, dict):
                    continue
                if (decision := update.get("decision")) is not None:
                    seen.decision = decision
                    if events is not None and decision["action"] == "delegate":
                        events("delegating", {"agent": decision["agent"]})
                if (result := update.get("agent_result")) is not None:
                    seen.agent_result = result
        return TurnResult(
            reply=state["reply"],
            action=state["action"],
            agent=state.get("agent_used"),
            url=state.get("url"),
            intent=seen.decision["intent"] if seen.decision is not None else None,
            agent_call=seen.agent_call(),
        )


def _with_namespace(item: Any) -> tuple[Any, ...]:
    return item if len(item) == 3 else ((), *item)


@dataclass
class _Seen:
    """The hand-offs a run has made so far (kept when the run is abandoned)."""

    decision: Decision | None = None
    agent_result: AgentResult | None = None

    def agent_call(self) -> AgentOutcome | None:
        result = self.agent_result
        if result is None:
            return None
        return AgentOutcome(result["agent"], result["ok"], result["error"])

    def abandoned_call(self) -> AgentOutcome | None:
        """The agent call of a run abandoned at the deadline: what it returned, else cut."""
        decision = self.decision
        if self.agent_result is not None:
            return self.agent_call()
        if decision is not None and decision["action"] == "delegate" and decision["agent"]:
            return AgentOutcome(decision["agent"], ok=False, error="deadline")
        return None
