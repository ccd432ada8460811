"""Checkpoints of older releases load in memory, and a turn stores conversation memory only:
never the client's config, its key, or the turn's hand-offs."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from tests.fast.kit import CONFIG, Bot, FakeAgent, ScriptedChatModel, decide, write_checkpoint

pytestmark = pytest.mark.fast

OLD_STATE: dict[str, Any] = {
    "messages": [
        HumanMessage("hola", id="h1"),
        AIMessage("¡Hola! Soy Valeria", name="orquestador", id="a1"),
    ],
    "session_id": "old-1",
    "bot_config": {"nombre_bot": "Valeria", "id_empresa": 12, "rol_bot": "asistente"},
    "business_context": "Restaurante en Lima",
    "active_agent": None,
    "decision": {"action": "respond", "agent": None, "reply": "¡Hola!", "intent": "greeting"},
    "agent_result": None,
    "reply": "¡Hola! Soy Valeria",
    "agent_used": None,
    "action": "respond",
    "turns": 1,
}
"""A conversation stored before the runtime context (config and context in the state)."""

BOOKING = "quiero reservar una mesa para 4 personas el sábado"


async def old_bot(values: dict[str, Any], **kwargs: Any) -> Bot:
    saver = InMemorySaver()
    await write_checkpoint(saver, "old-1", values)
    return Bot(saver=saver, **kwargs)


async def test_an_old_checkpoint_loads_and_the_turn_continues_it() -> None:
    bot = await old_bot(OLD_STATE)
    turn = await bot.turn("gracias, hasta luego", session="old-1")
    assert turn.outcome() == (CONFIG["frase_des"], "respond", None, None, None)
    stored = await bot.stored("old-1")
    assert stored["turns"] == 2
    assert [m.text for m in stored["messages"]] == [
        "hola",
        "¡Hola! Soy Valeria",
        "gracias, hasta luego",
        CONFIG["frase_des"],
    ]


async def test_the_turn_writes_nothing_to_the_old_config_keys() -> None:
    bot = await old_bot(OLD_STATE)
    before = await bot.saver.aget_tuple(bot.run_config("old-1"))
    await bot.turn("gracias, hasta luego", session="old-1")
    after = await bot.saver.aget_tuple(bot.run_config("old-1"))
    assert before is not None and after is not None
    old_keys = ("bot_config", "business_context", "session_id")
    versions = after.checkpoint["channel_versions"]
    assert {key: versions.get(key) for key in old_keys} == {
        key: before.checkpoint["channel_versions"][key] for key in old_keys
    }  # this turn wrote none of them (a saver keeping channel blobs still points at the old ones)
    state = await bot.stored("old-1")
    assert not set(old_keys) & set(state)
    assert state.get("decision") is None and state.get("agent_result") is None


async def test_the_model_is_shown_the_old_history() -> None:
    model = ScriptedChatModel(decide("respond", reply="Claro"))
    bot = await old_bot(OLD_STATE, model=model)
    await bot.turn("¿tienen terraza?", session="old-1")
    assert model.prompts[0][1].text.endswith(
        "<historial>\nCliente: hola\nAsistente: ¡Hola! Soy Valeria\n</historial>"
    )


async def test_a_leftover_decision_of_a_crashed_turn_is_not_followed() -> None:
    crashed = {**OLD_STATE, "decision": {"action": "delegate", "agent": "venta"}}
    bot = await old_bot(crashed)
    turn = await bot.turn("hola", session="old-1")
    assert turn.outcome()[:3] == (CONFIG["frase_saludo"], "respond", None)
    assert bot.agents["venta"].calls == []


async def test_a_leftover_agent_result_is_not_reused() -> None:
    crashed = {
        **OLD_STATE,
        "agent_result": {"agent": "reserva", "ok": True, "reply": "vieja", "url": None},
    }
    bot = await old_bot(crashed, agents={"reserva": FakeAgent(["nueva"])})
    turn = await bot.turn(BOOKING, session="old-1")
    assert turn.reply == "nueva"


async def test_an_old_active_agent_is_continued() -> None:
    bot = await old_bot({**OLD_STATE, "active_agent": "reserva"})
    turn = await bot.turn("para 4 personas", session="old-1")
    assert turn.outcome()[1:3] == ("delegate", "reserva")
    assert bot.agents["reserva"].messages == ["para 4 personas"]


async def test_an_old_active_agent_no_longer_declared_is_ignored() -> None:
    bot = await old_bot({**OLD_STATE, "active_agent": "delivery"})
    turn = await bot.turn("ok", session="old-1")
    assert turn.outcome()[1:3] == ("respond", None)
    assert all(agent.calls == [] for agent in bot.agents.values())


async def test_a_checkpoint_with_only_messages_loads() -> None:
    bot = await old_bot({"messages": OLD_STATE["messages"]})
    await bot.turn("hola", session="old-1")
    stored = await bot.stored("old-1")
    assert stored["turns"] == 1  # counted from this release on
    assert len(stored["messages"]) == 4


async def test_an_old_checkpoint_is_trimmed_to_the_bound() -> None:
    long = [
        message
        for i in range(6)
        for message in (HumanMessage(f"m{i}", id=f"h{i}"), AIMessage(f"r{i}", id=f"a{i}"))
    ]
    bot = await old_bot({**OLD_STATE, "messages": long}, max_history_turns=2)
    await bot.turn("hola", session="old-1")
    assert [text for _, text in await bot.stored_texts("old-1")] == [
        "m5",
        "r5",
        "hola",
        CONFIG["frase_saludo"],
    ]


async def test_the_company_key_and_config_are_never_stored() -> None:
    bot = Bot()
    await bot.turn(BOOKING, api_key="sk-empresa-99887766", request_id="req-secret-1")
    channels = await bot.raw_channels()
    dumped = repr(channels)
    assert "sk-empresa-99887766" not in dumped
    assert "req-secret-1" not in dumped
    assert CONFIG["frase_no_sabe"] not in dumped and CONFIG["temas_esc"] not in dumped
    assert set(channels) <= {
        "messages",
        "active_agent",
        "turns",
        "decision",
        "agent_result",
        "reply",
        "agent_used",
        "action",
        "url",
        "route_note",
        "turn_log",
    }


async def test_checkpoints_hold_no_secret_in_their_metadata_either() -> None:
    bot = Bot()
    await bot.turn(BOOKING, api_key="sk-empresa-55443322")
    async for item in bot.saver.alist(bot.run_config("s1")):
        assert "sk-empresa-55443322" not in repr(item.metadata)
        assert "sk-empresa-55443322" not in repr(item.checkpoint)
