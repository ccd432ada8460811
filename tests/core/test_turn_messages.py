"""A turn of several customer messages (a merged burst) through graph.turn.TurnRunner: each
stored on its own and in order, the router and the agent given them joined one line each, the
joined text bounded (oldest lines kept whole, the cut counted), one turn in the history bound."""

from __future__ import annotations

import time

import httpx
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from graph.agents.registry import AgentRegistry
from graph.agents.resilience import ResiliencePolicy
from graph.agents.roster import AgentSpec, Roster
from graph.bot_config import BotConfig
from graph.builder import build_graph
from graph.context import TurnContext
from graph.conversation import count_turns, stored_conversation
from graph.deps import GraphDeps, NoEvents
from graph.state import turn_user_text
from graph.turn import TurnRunner
from harness.http_agent import HttpAgent

CONFIG = BotConfig.from_mapping({"nombre_bot": "Valeria"})


class Cuts(NoEvents):
    def __init__(self) -> None:
        self.count = 0

    def turn_text_cut(self) -> None:
        self.count += 1


def context() -> TurnContext:
    return TurnContext(
        bot_config=CONFIG, session_id="s1", id_empresa=7, deadline=time.monotonic() + 30
    )


def test_the_turn_text_is_the_trailing_user_messages_joined() -> None:
    messages = [HumanMessage("viejo"), AIMessage("respuesta"), HumanMessage("a"), HumanMessage("b")]
    assert turn_user_text(messages) == ("a\nb", False)
    assert turn_user_text(messages[:2]) == ("", False)
    long = [HumanMessage("x" * 30), HumanMessage("y" * 30), HumanMessage("z" * 30)]
    text, cut = turn_user_text(long, 45)
    assert cut and text == "x" * 30 + "\n" + "y" * 14  # the oldest line whole
    assert turn_user_text([HumanMessage("w" * 80)], 45) == ("w" * 80, False)  # one: never cut
    assert count_turns([*messages, AIMessage("otra")]) == 2


async def test_a_burst_turn_stores_each_message_and_calls_the_agent_once() -> None:
    with HttpAgent("venta", "flat") as agent:
        roster = Roster([AgentSpec("venta", agent.url, transport="http")])
        cuts = Cuts()
        async with httpx.AsyncClient() as http:
            registry = AgentRegistry(roster, ResiliencePolicy(max_attempts=1), http=http)
            deps = GraphDeps(
                agents=registry, events=cuts, max_history_turns=2, max_turn_text_chars=40
            )
            turns = TurnRunner(build_graph(deps, checkpointer=InMemorySaver()), max_agent_steps=6)
            burst = ["hola", "quiero comprar zapatillas", "talla 42"]
            result = await turns.run("s1", burst, context())
            assert (result.action, result.agent) == ("delegate", "venta")
            assert [call["body"]["message"] for call in agent.calls] == ["\n".join(burst)]
            assert cuts.count == 0

            long = ["quiero comprar " + "x" * 30, "y" * 30, "z" * 30]
            await turns.run("s1", long, context())
            assert agent.calls[-1]["body"]["message"] == ("\n".join(long))[:40]
            assert cuts.count == 1
            await turns.run("s1", ["quiero comprar medias"], context())

            saver = turns.graph.checkpointer
            assert isinstance(saver, InMemorySaver)
            item = await saver.aget_tuple({"configurable": {"thread_id": "s1"}})
            assert item is not None
            conversation = stored_conversation(item.checkpoint)
            # two turns kept (MAX_HISTORY_TURNS=2): the long burst whole, then the last message
            assert [m.content for m in conversation.messages if m.role == "user"] == [
                *long,
                "quiero comprar medias",
            ]
            assert conversation.turns == 2 and conversation.total_turns == 3
