"""graph.turn.TurnRunner with an in-memory saver: typed results, and a run abandoned past its
deadline stored through the graph like any other turn (once, counted, history bounded)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from langgraph.checkpoint.memory import InMemorySaver

from graph.agents.registry import AgentRegistry
from graph.agents.resilience import ResiliencePolicy
from graph.agents.roster import AgentSpec, Roster
from graph.bot_config import BotConfig
from graph.builder import build_graph
from graph.business_context import BusinessContextClient
from graph.context import TurnContext
from graph.conversation import stored_conversation
from graph.deps import GraphDeps, NoEvents
from graph.turn import AgentOutcome, TurnRunner
from harness.http_agent import HttpAgent

FALLBACK = "Déjame consultarlo con el equipo."
CONFIG = BotConfig.from_mapping({"nombre_bot": "Valeria", "frase_no_sabe": FALLBACK})


class DeafContexts(BusinessContextClient):
    """A business-context source that ignores the first cut at the deadline while `deaf` (the
    kind of bug the turn's safety net exists for)."""

    deaf = False

    async def get(self, id_empresa: int) -> str | None:
        if not self.deaf:
            return "Restaurante en Lima"
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(30)  # cut again (by the turn's safety net): ends
        return None


class Timeouts(NoEvents):
    def __init__(self) -> None:
        self.count = 0

    def turn_timeout(self) -> None:
        self.count += 1


def runner(contexts: BusinessContextClient, events: Timeouts) -> TurnRunner:
    deps = GraphDeps(
        agents=AgentRegistry(Roster([]), ResiliencePolicy()),
        contexts=contexts,
        max_history_turns=2,
        events=events,
    )
    graph = build_graph(deps, checkpointer=InMemorySaver())
    return TurnRunner(graph, max_agent_steps=6, deadline_margin=0.2)


def context(seconds: float) -> TurnContext:
    return TurnContext(
        bot_config=CONFIG, session_id="s1", id_empresa=7, deadline=time.monotonic() + seconds
    )


async def stored(turns: TurnRunner) -> Any:
    saver = turns.graph.checkpointer
    assert isinstance(saver, InMemorySaver)
    item = await saver.aget_tuple({"configurable": {"thread_id": "s1"}})
    assert item is not None
    return stored_conversation(item.checkpoint)


async def test_an_abandoned_run_is_stored_once_like_any_turn() -> None:
    async with httpx.AsyncClient() as http:
        contexts = DeafContexts("http://127.0.0.1:9/unused", http=http, timeout=1, ttl=0)
        events = Timeouts()
        turns = runner(contexts, events)

        first = await turns.run("s1", ["hola"], context(5))
        assert (first.action, first.agent, first.intent, first.abandoned) == (
            "respond",
            None,
            "greeting",
            False,
        )
        assert first.agent_call is None

        contexts.deaf = True
        started = time.monotonic()
        second = await turns.run("s1", ["¿tienen delivery?"], context(0.2))
        assert time.monotonic() - started >= 0.2 + 0.2  # the deadline and the margin went by
        assert (second.reply, second.action, second.agent, second.abandoned) == (
            FALLBACK,
            "respond",
            None,
            True,
        )
        assert events.count == 1  # counted once, by the re-run's router
        view = await stored(turns)
        assert (view.turns, view.total_turns) == (2, 2)
        assert [(m.role, m.content) for m in view.messages][2:] == [
            ("user", "¿tienen delivery?"),
            ("assistant", FALLBACK),
        ]

        third = await turns.run("s1", ["¿y los domingos?"], context(0.2))
        assert third.abandoned and third.reply == FALLBACK
        view = await stored(turns)
        assert (view.turns, view.total_turns) == (2, 3)  # bounded history, whole counter
        assert [m.content for m in view.messages if m.role == "user"] == [
            "¿tienen delivery?",
            "¿y los domingos?",
        ]


async def test_the_result_says_what_happened_to_the_agent_call() -> None:
    with HttpAgent("cita", "flat") as agent:
        roster = Roster([AgentSpec("cita", agent.url, transport="http")])
        events = Timeouts()
        async with httpx.AsyncClient() as http:
            registry = AgentRegistry(roster, ResiliencePolicy(max_attempts=1), http=http)
            deps = GraphDeps(agents=registry, events=events)
            turns = TurnRunner(build_graph(deps, checkpointer=InMemorySaver()), max_agent_steps=6)
            progress: list[tuple[str, dict[str, Any]]] = []

            ok = await turns.run(
                "s2", ["quiero una cita"], context(30), lambda *e: progress.append(e)
            )
            assert (ok.action, ok.agent, ok.intent) == ("delegate", "cita", "delegate")
            assert ok.agent_call == AgentOutcome("cita", ok=True, error=None)
            assert progress[0] == ("delegating", {"agent": "cita"})

            agent.state.delay = 3  # slower than the turn's deadline
            late = await turns.run("s2", ["¿para el lunes?"], context(0.5))
            assert (late.reply, late.action, late.agent, late.abandoned) == (
                FALLBACK,
                "respond",
                None,
                False,
            )
            assert late.agent_call == AgentOutcome("cita", ok=False, error="deadline")
            assert events.count == 1
