"""History bounds in memory: what is stored after each turn (MAX_HISTORY_TURNS), and what the
model is shown of it."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from tests.fast.kit import CONFIG, Bot, ScriptedChatModel, decide, texts

pytestmark = pytest.mark.fast


def echo(n: int) -> list[AIMessage]:
    """`n` model decisions replying "r1", "r2", ..."""
    return [decide("respond", reply=f"r{i}") for i in range(1, n + 1)]


async def test_the_stored_history_keeps_the_last_turns_only() -> None:
    bot = Bot(model=ScriptedChatModel(*echo(5)), max_history_turns=2)
    await bot.talk("m1", "m2", "m3", "m4", "m5")
    assert await bot.stored_texts() == [
        ("human", "m4"),
        ("ai", "r4"),
        ("human", "m5"),
        ("ai", "r5"),
    ]


async def test_a_history_of_one_turn_keeps_one_exchange() -> None:
    bot = Bot(model=ScriptedChatModel(*echo(3)), max_history_turns=1)
    await bot.talk("m1", "m2", "m3")
    assert await bot.stored_texts() == [("human", "m3"), ("ai", "r3")]


async def test_nothing_is_trimmed_below_the_bound() -> None:
    bot = Bot(model=ScriptedChatModel(*echo(3)), max_history_turns=3)
    await bot.talk("m1", "m2", "m3")
    assert [text for _, text in await bot.stored_texts()] == ["m1", "r1", "m2", "r2", "m3", "r3"]


async def test_the_turn_counter_is_not_bounded_by_the_history() -> None:
    bot = Bot(model=ScriptedChatModel(*echo(4)), max_history_turns=1)
    await bot.talk("m1", "m2", "m3", "m4")
    assert (await bot.stored())["turns"] == 4


async def test_the_model_sees_only_the_kept_history() -> None:
    model = ScriptedChatModel(*echo(4))
    bot = Bot(model=model, max_history_turns=2)
    await bot.talk("m1", "m2", "m3", "m4")
    history = model.prompts[3][1].text
    assert history.endswith(
        "<historial>\nCliente: m2\nAsistente: r2\nCliente: m3\nAsistente: r3\n</historial>"
    )
    assert "m1" not in history and "r1" not in history
    assert texts(model.prompts[3][2:]) == ["m4"]


@pytest.mark.parametrize("turn", [1, 2, 3])
async def test_the_models_prompt_grows_by_one_exchange_per_turn(turn: int) -> None:
    model = ScriptedChatModel(*echo(turn))
    bot = Bot(model=model)
    await bot.talk(*(f"m{i}" for i in range(1, turn + 1)))
    prompt = model.prompts[-1]
    assert len(prompt) == 3  # system, context and history in one message, the new message
    block = prompt[1].text
    assert block.count("Cliente: ") == turn - 1
    assert block.count("Asistente: ") == turn - 1
    assert ("<historial>" in block) is (turn > 1)


async def test_the_stored_messages_say_who_answered() -> None:
    bot = Bot()
    await bot.talk("hola", "quiero reservar una mesa para 4 personas el sábado")
    messages = (await bot.stored())["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, HumanMessage, AIMessage]
    assert [m.name for m in messages if isinstance(m, AIMessage)] == ["orquestador", "reserva"]
    assert messages[1].text == CONFIG["frase_saludo"]


async def test_every_stored_message_has_a_distinct_id() -> None:
    bot = Bot(model=ScriptedChatModel(*echo(4)), max_history_turns=2)
    await bot.talk("m1", "m2", "m3", "m4")
    ids = [m.id for m in (await bot.stored())["messages"]]
    assert all(ids) and len(set(ids)) == len(ids) == 4


async def test_trimming_one_session_leaves_another_alone() -> None:
    bot = Bot(model=ScriptedChatModel(*echo(4)), max_history_turns=1)
    await bot.talk("a1", "a2", session="a")
    await bot.talk("b1", "b2", session="b")
    assert await bot.stored_texts("a") == [("human", "a2"), ("ai", "r2")]
    assert await bot.stored_texts("b") == [("human", "b2"), ("ai", "r4")]


async def test_the_per_turn_hand_offs_are_not_kept() -> None:
    bot = Bot()
    await bot.talk("hola", "quiero reservar una mesa para 4 personas el sábado")
    stored = await bot.stored()
    assert stored.get("decision") is None and stored.get("agent_result") is None
