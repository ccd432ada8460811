"""Continuity in memory: the active agent keeps the conversation until a farewell or escalation,
per session, with the offline router and with the model (what the prompt says is active)."""

from __future__ import annotations

import pytest

from graph.agents.roster import AgentSpec
from tests.fast.kit import CONFIG, Bot, FakeAgent, ScriptedChatModel, decide, decision_tuple

pytestmark = pytest.mark.fast

BOOKING = "quiero reservar una mesa para 4 personas el sábado"
CLARIFY = (
    "¿En qué te puedo ayudar? Puedo ayudarte a hacer una reserva, agendar una cita o comprar "
    "nuestros productos."
)


@pytest.mark.parametrize(
    "follow_up", ["para 4 personas", "sí, confirmo", "a nombre de Juan Pérez", "ok"]
)
async def test_a_follow_up_goes_to_the_active_agent(follow_up: str) -> None:
    bot = Bot()
    first, second = await bot.talk(BOOKING, follow_up)
    assert second.outcome()[1:3] == ("delegate", "reserva")
    assert bot.agents["reserva"].messages == [BOOKING, follow_up]
    assert (await bot.stored())["active_agent"] == "reserva"


@pytest.mark.parametrize("follow_up", ["para 4 personas", "sí, confirmo", "ok"])
async def test_the_same_follow_up_without_an_active_agent_asks_what_is_wanted(
    follow_up: str,
) -> None:
    bot = Bot()
    turn = await bot.turn(follow_up)
    assert decision_tuple(turn.decision) == ("respond", None, "clarify")
    assert turn.reply == CLARIFY
    assert all(agent.calls == [] for agent in bot.agents.values())


@pytest.mark.parametrize(
    ("closing", "reply"),
    [
        ("gracias, hasta luego", CONFIG["frase_des"]),
        ("quiero hablar con una persona", CONFIG["frase_esc"]),
    ],
)
async def test_a_farewell_or_escalation_ends_the_agents_turn(closing: str, reply: str) -> None:
    bot = Bot()
    await bot.turn(BOOKING)
    turn = await bot.turn(closing)
    assert turn.outcome() == (reply, "respond", None, None, None)
    after = await bot.turn("para 4 personas")
    assert after.reply == CLARIFY
    assert bot.agents["reserva"].messages == [BOOKING]


async def test_thanks_keeps_the_active_agent() -> None:
    bot = Bot()
    await bot.turn(BOOKING)
    turn = await bot.turn("gracias")
    assert turn.outcome() == (CONFIG["frase_des"], "respond", None, None, "reserva")
    await bot.turn("para 4 personas")
    assert bot.agents["reserva"].messages == [BOOKING, "para 4 personas"]


async def test_a_clear_request_for_another_agent_switches_agents() -> None:
    bot = Bot()
    await bot.turn(BOOKING)
    turn = await bot.turn("mejor quiero agendar una cita con el doctor")
    assert turn.outcome()[1:3] == ("delegate", "cita")
    assert (await bot.stored())["active_agent"] == "cita"
    await bot.turn("ok")
    assert bot.agents["cita"].messages == ["mejor quiero agendar una cita con el doctor", "ok"]
    assert bot.agents["reserva"].messages == [BOOKING]


async def test_sessions_do_not_share_the_active_agent() -> None:
    bot = Bot()
    await bot.turn(BOOKING, session="ana")
    turn = await bot.turn("ok", session="beto")
    assert turn.reply == CLARIFY
    assert (await bot.stored("ana"))["active_agent"] == "reserva"
    assert (await bot.stored("beto"))["active_agent"] is None
    assert [call.session_id for call, _ in bot.agents["reserva"].calls] == ["ana"]


async def test_the_model_is_told_the_active_agent() -> None:
    model = ScriptedChatModel(
        decide("delegate", "reserva", intent="delegate"),
        decide("delegate", "reserva", intent="delegate"),
    )
    bot = Bot(model=model)
    await bot.talk("una mesa", "para 4")
    assert model.prompts[0][0].text.rstrip().endswith("ACTIVE AGENT: none")
    assert model.prompts[1][0].text.rstrip().endswith("ACTIVE AGENT: reserva")
    assert bot.agents["reserva"].messages == ["una mesa", "para 4"]


async def test_the_models_farewell_clears_the_active_agent_for_the_next_prompt() -> None:
    model = ScriptedChatModel(
        decide("delegate", "reserva", intent="delegate"),
        decide("respond", reply="¡Hasta pronto!", intent="farewell"),
        decide("respond", reply="¡Hola!", intent="greeting"),
    )
    bot = Bot(model=model)
    await bot.talk("una mesa", "chau", "hola")
    assert model.prompts[2][0].text.rstrip().endswith("ACTIVE AGENT: none")


async def test_a_business_answer_from_the_model_keeps_the_active_agent() -> None:
    model = ScriptedChatModel(
        decide("delegate", "reserva", intent="delegate"),
        decide("respond", reply="Abrimos a las 12:00", intent="business"),
        decide("delegate", "reserva", intent="delegate"),
    )
    bot = Bot(model=model)
    _, middle, _ = await bot.talk("una mesa", "¿a qué hora abren?", "a las 8 entonces")
    assert middle.outcome() == ("Abrimos a las 12:00", "respond", None, None, "reserva")
    assert model.prompts[2][0].text.rstrip().endswith("ACTIVE AGENT: reserva")


async def test_an_active_agent_later_disabled_is_not_continued() -> None:
    bot = Bot()
    await bot.turn(BOOKING)
    names = ("reserva", "cita", "venta")
    specs = [AgentSpec(n, f"http://{n}.test", enabled=n != "reserva") for n in names]
    agents = {name: FakeAgent() for name in names}
    restarted = Bot(agents, specs=specs, saver=bot.saver)  # a new deployment, same memory
    turn = await restarted.turn("ok")
    assert turn.outcome()[1:3] == ("respond", None)
    assert all(agent.calls == [] for agent in agents.values())


async def test_each_agent_is_handed_only_the_new_message() -> None:
    bot = Bot()
    await bot.talk(BOOKING, "para 4 personas", "a nombre de Juan Pérez")
    calls = [call for call, _ in bot.agents["reserva"].calls]
    assert [c.message for c in calls] == [BOOKING, "para 4 personas", "a nombre de Juan Pérez"]
    assert len({c.request_id for c in calls}) == 3
    assert {c.session_id for c in calls} == {"s1"}


async def test_the_turn_counter_grows_per_session() -> None:
    bot = Bot()
    await bot.talk("hola", BOOKING, "ok")
    await bot.turn("hola", session="other")
    assert (await bot.stored())["turns"] == 3
    assert (await bot.stored("other"))["turns"] == 1
