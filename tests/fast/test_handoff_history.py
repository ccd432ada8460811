"""Human handoff in memory: messages stored without routing (TurnRunner.store_customer), the
person's messages stored as the business's (store_person), both bounded like turns, and the
router's history after resume naming the person apart from the bot."""

from __future__ import annotations

import pytest

from graph.turn import TurnRunner
from tests.fast.kit import Bot, ScriptedChatModel, decide

pytestmark = pytest.mark.fast


def runner(bot: Bot, max_history_turns: int = 10) -> TurnRunner:
    return TurnRunner(bot.graph, max_agent_steps=6, max_history_turns=max_history_turns)


async def test_held_messages_are_stored_in_order_without_a_model_call() -> None:
    model = ScriptedChatModel(
        decide("respond", reply="Te paso con una persona.", intent="escalation"),
        decide("respond", reply="Listo, quedó separado.", intent="other"),
    )
    bot = Bot(model=model)
    turns = runner(bot)
    await bot.turn("quiero hablar con una persona")
    await turns.store_customer("s1", ["¿hola?", "¿cuánto cuesta el modelo X?"])
    await turns.store_person("s1", "Cuesta 50 soles, te lo separo.", "Ana")
    assert model.calls == 1  # nothing routed while the person held the conversation
    stored = await bot.stored()
    assert [(m.type, m.text, m.name) for m in stored["messages"][-3:]] == [
        ("human", "¿hola?", None),
        ("human", "¿cuánto cuesta el modelo X?", None),
        ("ai", "Cuesta 50 soles, te lo separo.", "humano:Ana"),
    ]
    assert stored["turns"] == 3  # the escalation and the two held messages
    await bot.turn("perfecto, gracias")
    history = model.prompts[-1][1].text
    assert "Asesor humano: Cuesta 50 soles, te lo separo." in history
    assert "Asistente: Te paso con una persona." in history
    assert "Cliente: ¿cuánto cuesta el modelo X?" in history


async def test_held_messages_keep_the_history_bounded() -> None:
    bot = Bot()
    turns = runner(bot, max_history_turns=2)
    await turns.store_customer("s1", ["m1"])
    await turns.store_person("s1", "p1", "Ana")
    await turns.store_customer("s1", ["m2", "m3"])
    await turns.store_person("s1", "p2", "Ana")
    await turns.store_customer("s1", ["m4"])
    # a run of customer messages is one turn of the history (as a merged burst is): the last
    # two runs stay, with the person's answer between them
    texts = [text for _, text in await bot.stored_texts()]
    assert texts == ["m2", "m3", "p2", "m4"]
