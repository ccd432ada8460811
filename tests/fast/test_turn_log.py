"""The turn's record (graph/turn_log.py) in memory: what the router decided and why, the agent
call's outcome and times, stored with the turn and bounded like the history, read back per reply
by graph.conversation (what /memory/sessions and the operator console show)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from graph.agents.resilience import ResiliencePolicy
from graph.agents.transport import AgentFailed
from graph.conversation import conversation_summary, stored_conversation
from graph.turn import TurnRunner
from graph.usage import TurnUsage
from tests.fast.kit import CONFIG, HANG, Bot, FakeAgent, ScriptedChatModel, decide

pytestmark = pytest.mark.fast

BOOKING = "quiero reservar una mesa para 4 personas el sábado"
OK = "Perfecto, mesa para 4 el sábado. ¿A nombre de quién?"


async def turn_log(bot: Bot, session: str = "s1") -> list[dict[str, Any]]:
    return list((await bot.stored(session)).get("turn_log", []))


async def conversation(bot: Bot, session: str = "s1") -> Any:
    item = await bot.saver.aget_tuple(bot.run_config(session))
    assert item is not None
    return item.checkpoint


async def test_a_delegated_turn_records_the_decision_the_allowed_agents_and_the_call() -> None:
    bot = Bot({"reserva": FakeAgent([OK]), "cita": FakeAgent()})
    await bot.turn(BOOKING)
    [record] = await turn_log(bot)
    assert record["turn"] == 1
    assert (record["router"], record["action"], record["intent"]) == (
        "offline",
        "delegate",
        "delegate",
    )
    assert record["requested"] == "reserva" and record["correction"] is None
    assert record["allowed"] == ["reserva", "cita"]
    call = record["agent_call"]
    assert (call["agent"], call["outcome"], call["error"]) == ("reserva", "delegated", None)
    assert record["reply_by"] == "reserva" and record["fallback"] is False
    assert record["id_empresa"] == CONFIG["id_empresa"]
    assert set(record["timings_ms"]) == {"routing", "context", "agent"}
    assert all(value >= 0 for value in record["timings_ms"].values())
    assert record["merged"] == 1
    # the record names its reply: the stored conversation attaches it to that message
    stored = stored_conversation(await conversation(bot))
    reply = stored.messages[-1]
    assert reply.content == OK and reply.details == record
    assert stored.messages[0].details is None  # the customer's message has none


async def test_a_failed_agent_is_recorded_as_failed_with_its_error_kind() -> None:
    bot = Bot({"reserva": FakeAgent([AgentFailed("http_500")]), "cita": FakeAgent()})
    turn = await bot.turn(BOOKING)
    assert turn.reply == CONFIG["frase_no_sabe"]
    [record] = await turn_log(bot)
    assert record["action"] == "delegate"  # the router delegated: not the orchestrator's choice
    assert record["agent_call"]["outcome"] == "failed"
    assert record["agent_call"]["error"] == "http_500"
    assert record["fallback"] is True and record["reply_by"] == "orquestador"
    summary = conversation_summary(await conversation(bot))
    assert summary.last_outcome == "failed" and summary.last_reply_by == "orquestador"


async def test_an_agent_cut_by_the_deadline_is_recorded_as_timed_out() -> None:
    policy = ResiliencePolicy(timeout=30.0, max_attempts=1, backoff=0.0)
    bot = Bot({"reserva": FakeAgent([HANG]), "cita": FakeAgent()}, policy=policy)
    await bot.turn(BOOKING, deadline=time.monotonic() + 0.3)
    [record] = await turn_log(bot)
    assert record["agent_call"]["outcome"] == "timed_out"
    assert record["agent_call"]["error"] == "deadline"
    assert record["fallback"] is True


async def test_an_agent_past_its_own_timeout_is_recorded_as_timed_out() -> None:
    bot = Bot({"reserva": FakeAgent([AgentFailed("timeout")]), "cita": FakeAgent()})
    await bot.turn(BOOKING)
    [record] = await turn_log(bot)
    assert (record["agent_call"]["outcome"], record["agent_call"]["error"]) == (
        "timed_out",
        "timeout",
    )


async def test_a_modalidad_correction_is_recorded_with_the_agent_the_model_asked_for() -> None:
    model = ScriptedChatModel(decide("delegate", "venta", intent="delegate"))
    bot = Bot(model=model)
    await bot.turn("quiero comprar", allowed_agents=("cita",), modalidad="citas")
    [record] = await turn_log(bot)
    assert record["router"] == "model"
    assert (record["requested"], record["correction"]) == ("venta", "modalidad")
    assert record["allowed"] == ["cita"]
    assert record["agent_call"]["agent"] == "cita"


async def test_an_agent_outside_the_allowed_set_is_recorded_as_not_allowed() -> None:
    model = ScriptedChatModel(decide("delegate", "venta", intent="delegate"))
    bot = Bot(model=model)
    await bot.turn("comprar", allowed_agents=("reserva", "cita"))
    [record] = await turn_log(bot)
    assert (record["action"], record["requested"], record["correction"]) == (
        "respond",
        "venta",
        "not_allowed",
    )
    assert record["agent_call"] is None and "agent" not in record["timings_ms"]


async def test_a_greeting_has_no_agent_call_and_the_log_is_bounded_like_the_history() -> None:
    bot = Bot(max_history_turns=2)
    await bot.talk("hola", BOOKING, "gracias")
    log = await turn_log(bot)
    assert [r["turn"] for r in log] == [2, 3]  # the first turn was trimmed with its messages
    stored = await bot.stored()
    replies = [m for m in stored["messages"] if isinstance(m, AIMessage)]
    assert [r["message_id"] for r in log] == [m.id for m in replies]
    assert log[-1]["agent_call"] is None and log[-1]["intent"] == "thanks"


async def test_the_turn_api_records_tokens_and_merged_messages() -> None:
    usage_message = decide("respond", reply="¡Hola! ¿En qué te ayudo?", intent="greeting")
    usage_message.usage_metadata = {"input_tokens": 321, "output_tokens": 12, "total_tokens": 333}
    model = ScriptedChatModel(usage_message)
    bot = Bot(model=model)
    runner = TurnRunner(bot.graph, max_agent_steps=4)
    usage = TurnUsage()
    await runner.run("s1", ["hola", "buenas"], bot.context(usage=usage))
    [record] = await turn_log(bot)
    assert record["merged"] == 2
    assert record["tokens"] == {"input": 321, "output": 12, "model_calls": 1}


async def test_the_record_holds_no_key_config_or_request_id() -> None:
    bot = Bot({"reserva": FakeAgent([AgentFailed("http_500")]), "cita": FakeAgent()})
    await bot.turn(BOOKING, api_key="sk-empresa-1234567890", request_id="req-log-7")
    dumped = repr(await turn_log(bot))
    for secret in ("sk-empresa-1234567890", "req-log-7", CONFIG["temas_esc"], BOOKING):
        assert secret not in dumped
