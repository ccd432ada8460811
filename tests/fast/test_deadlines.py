"""Timeouts and fallbacks in memory: the turn's deadline, the model's timeout and errors, the
business context; each asserted by outcome and the order of events, never by elapsed time."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import httpx
import openai
import pytest
from langchain_core.exceptions import OutputParserException

from graph.agents.resilience import ResiliencePolicy
from graph.agents.transport import AgentCall, AgentReply, AgentUnreachable
from tests.fast.kit import (
    CONFIG,
    HANG,
    Bot,
    FakeAgent,
    ScriptedChatModel,
    context_client,
    decide,
    decision_field,
    decision_tuple,
)

pytestmark = pytest.mark.fast

BOOKING = "quiero reservar una mesa para 4 personas el sábado"


def soon(seconds: float) -> float:
    """A deadline `seconds` from now (time.monotonic, as server/turns.py sets it)."""
    return time.monotonic() + seconds


# -- the turn's deadline -----------------------------------------------------------------------
async def test_a_turn_past_its_deadline_calls_nothing_and_answers_the_fallback() -> None:
    model = ScriptedChatModel()  # nothing scripted: a call would fail the test
    bot = Bot(model=model)
    turn = await bot.turn(BOOKING, deadline=time.monotonic() - 1)
    assert model.calls == 0
    assert all(agent.calls == [] for agent in bot.agents.values())
    assert turn.outcome() == (CONFIG["frase_no_sabe"], "respond", None, None, None)
    assert bot.events.seen == [("turn_timeout",)]


async def test_a_timed_out_turn_is_stored_like_any_turn() -> None:
    bot = Bot()
    await bot.turn("hola")
    await bot.turn(BOOKING, deadline=time.monotonic() - 1)
    stored = await bot.stored()
    assert await bot.stored_texts() == [
        ("human", "hola"),
        ("ai", CONFIG["frase_saludo"]),
        ("human", BOOKING),
        ("ai", CONFIG["frase_no_sabe"]),
    ]
    assert stored["turns"] == 2 and stored.get("decision") is None


async def test_an_agent_that_hangs_is_cut_at_the_turns_deadline() -> None:
    policy = ResiliencePolicy(timeout=30.0, max_attempts=3, backoff=0.0)
    bot = Bot({"reserva": FakeAgent([HANG])}, policy=policy)
    deadline = soon(0.3)
    turn = await bot.turn(BOOKING, deadline=deadline)
    [(call, timeout)] = bot.agents["reserva"].calls  # cut, never retried
    assert 0 < timeout <= 0.3  # the call was given what was left of the turn, not 30 s
    assert time.monotonic() >= deadline  # it ended because the deadline came
    assert turn.outcome()[:3] == (CONFIG["frase_no_sabe"], "respond", None)
    assert bot.events.seen == [("turn_timeout",)]
    assert bot.observer.seen == [("reserva", False, "deadline")]  # cut by the turn, not its own


async def test_an_agent_call_is_given_its_own_timeout_when_the_turn_has_more_time() -> None:
    policy = ResiliencePolicy(timeout=0.05, max_attempts=1, backoff=0.0)
    bot = Bot({"reserva": FakeAgent([HANG])}, policy=policy)
    turn = await bot.turn(BOOKING, deadline=soon(60))
    [(_, timeout)] = bot.agents["reserva"].calls
    assert timeout == pytest.approx(0.05)
    assert turn.outcome()[:3] == (CONFIG["frase_no_sabe"], "respond", None)
    assert bot.events.seen == []  # the agent's own timeout, not the turn's


async def test_a_turn_without_deadline_gives_the_agent_the_policy_timeout() -> None:
    bot = Bot({"reserva": FakeAgent(["ok"])})
    await bot.turn(BOOKING)
    [(_, timeout)] = bot.agents["reserva"].calls
    assert timeout == pytest.approx(5.0)


class SlowRefusal(FakeAgent):
    """Refuses every connection, each after 0.2 s (a retryable error that costs time); records
    when each attempt started."""

    starts: list[float]

    async def chat(self, call: AgentCall, timeout: float) -> AgentReply:
        self.starts = [*getattr(self, "starts", []), time.monotonic()]
        self.calls.append((call, timeout))
        await asyncio.sleep(0.2)
        raise AgentUnreachable("ConnectError")


async def test_no_retry_starts_after_the_deadline() -> None:
    agent = SlowRefusal()
    bot = Bot({"reserva": agent})
    deadline = soon(0.3)
    turn = await bot.turn(BOOKING, deadline=deadline)
    assert 1 <= len(agent.calls) < 3  # without the deadline: 3 attempts (FAST_POLICY)
    assert all(start < deadline for start in agent.starts)
    for start, (_, timeout) in zip(agent.starts, agent.calls, strict=True):
        assert timeout <= deadline - start + 0.01  # given only what was left (± scheduling)
    assert turn.outcome()[1] == "respond"
    assert bot.events.seen == [("turn_timeout",)]


# -- the router model's failures ---------------------------------------------------------------
MODEL_FAILURES = [
    openai.APITimeoutError(request=cast(Any, httpx.Request("POST", "http://model.test"))),
    httpx.ConnectError("refused"),
    OutputParserException("not json"),
]


@pytest.mark.parametrize("error", MODEL_FAILURES, ids=lambda e: type(e).__name__)
async def test_a_failing_model_falls_back_to_the_offline_router(error: Exception) -> None:
    model = ScriptedChatModel(error)
    bot = Bot(model=model)
    turn = await bot.turn("hola")
    assert model.calls == 1
    assert bot.events.seen == [("llm_fallback", type(error).__name__)]
    assert turn.outcome() == (CONFIG["frase_saludo"], "respond", None, None, None)


async def test_an_invalid_decision_is_a_model_failure() -> None:
    model = ScriptedChatModel(decide("maybe", "reserva"))
    bot = Bot(model=model)
    turn = await bot.turn(BOOKING)
    assert bot.events.seen == [("llm_fallback", "ValidationError")]
    assert decision_tuple(turn.decision) == ("delegate", "reserva", "delegate")  # offline's


async def test_a_model_answering_without_the_tool_call_is_a_model_failure() -> None:
    model = ScriptedChatModel("Claro, te ayudo con tu reserva")  # plain text, no tool call
    bot = Bot(model=model)
    turn = await bot.turn(BOOKING)
    assert [event[0] for event in bot.events.seen] == ["llm_fallback"]
    assert decision_field(turn.decision, "agent") == "reserva"


async def test_an_error_raised_inside_the_model_client_is_a_model_failure() -> None:
    # the deepest frame is the chat model's own code (langchain_core.language_models), as with
    # an HTML page or an empty `choices` from a real provider: a fallback, not a bug of ours
    model = ScriptedChatModel(RuntimeError("unreadable answer"))
    bot = Bot(model=model)
    turn = await bot.turn("hola")
    assert bot.events.seen == [("llm_fallback", "RuntimeError")]
    assert turn.reply == CONFIG["frase_saludo"]


async def test_a_model_that_hangs_is_cut_at_the_model_timeout() -> None:
    model = ScriptedChatModel(HANG)
    bot = Bot(model=model, model_timeout=0.05)
    turn = await bot.turn("hola", deadline=soon(60))
    assert bot.events.seen == [("llm_fallback", "TimeoutError")]
    assert turn.reply == CONFIG["frase_saludo"]  # the offline router answered


async def test_a_model_that_hangs_past_the_deadline_times_the_turn_out() -> None:
    model = ScriptedChatModel(HANG)
    bot = Bot(model=model, model_timeout=30)
    turn = await bot.turn(BOOKING, deadline=soon(0.2))
    assert bot.events.seen == [("llm_fallback", "TimeoutError"), ("turn_timeout",)]
    assert turn.outcome() == (CONFIG["frase_no_sabe"], "respond", None, None, None)
    assert all(agent.calls == [] for agent in bot.agents.values())


async def test_the_model_recovers_on_the_next_turn() -> None:
    model = ScriptedChatModel(
        httpx.ReadTimeout("slow"), decide("respond", reply="Abrimos a las 12", intent="business")
    )
    bot = Bot(model=model)
    await bot.turn("hola")
    turn = await bot.turn("¿a qué hora abren?")
    assert turn.reply == "Abrimos a las 12"
    assert bot.events.seen == [("llm_fallback", "ReadTimeout")]


# -- the business context ----------------------------------------------------------------------
LIMA = "La Huerta Criolla: restaurante en Miraflores, abre de 12:00 a 23:00."


def context_handler(
    asked: list[dict[str, Any]], step: str = "", status: int = 200
) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
    """A context service answering LIMA with `status` (or hanging: HANG), recording requests."""

    async def handle(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content))
        if step == HANG:
            await asyncio.Event().wait()
        return httpx.Response(status, json={"success": True, "contexto_negocio": LIMA})

    return handle


async def test_the_business_context_reaches_the_model_prompt_and_is_cached() -> None:
    asked: list[dict[str, Any]] = []
    model = ScriptedChatModel(decide("respond", reply="ok"), decide("respond", reply="ok"))
    bot = Bot(model=model, contexts=context_client(context_handler(asked)))
    await bot.talk("¿dónde están?", "¿y el horario?")
    assert len(asked) == 1 and asked[0]["id_empresa"] == 12
    for prompt in model.prompts:
        assert prompt[1].text.startswith(f"<contexto_negocio>\n{LIMA}\n</contexto_negocio>")
    assert LIMA not in model.prompts[0][0].text  # data stays out of the system prompt


async def test_a_failing_business_context_routes_without_it() -> None:
    asked: list[dict[str, Any]] = []
    model = ScriptedChatModel(decide("respond", reply="ok"))
    bot = Bot(model=model, contexts=context_client(context_handler(asked, status=500)))
    turn = await bot.turn("¿dónde están?")
    assert len(asked) == 1
    assert model.prompts[0][1].text.startswith("<contexto_negocio>\n(sin información)\n")
    assert turn.reply == "ok"


async def test_a_business_context_slower_than_the_deadline_times_the_turn_out() -> None:
    asked: list[dict[str, Any]] = []
    model = ScriptedChatModel()  # never called
    bot = Bot(model=model, contexts=context_client(context_handler(asked, HANG), timeout=30))
    turn = await bot.turn("¿dónde están?", deadline=soon(0.2))
    assert len(asked) == 1 and model.calls == 0
    assert bot.events.seen == [("turn_timeout",)]
    assert turn.outcome() == (CONFIG["frase_no_sabe"], "respond", None, None, None)


async def test_a_business_context_slower_than_its_timeout_is_skipped() -> None:
    asked: list[dict[str, Any]] = []
    model = ScriptedChatModel(decide("respond", reply="ok"))
    contexts = context_client(context_handler(asked, HANG), timeout=0.05)
    bot = Bot(model=model, contexts=contexts)
    turn = await bot.turn("¿dónde están?", deadline=soon(60))
    assert model.prompts[0][1].text.startswith("<contexto_negocio>\n(sin información)\n")
    assert turn.reply == "ok" and bot.events.seen == []


async def test_no_company_means_no_business_context_request() -> None:
    asked: list[dict[str, Any]] = []
    bot = Bot(contexts=context_client(context_handler(asked)))
    await bot.turn("hola", id_empresa=None)
    assert asked == []


async def test_the_offline_router_answers_from_the_business_context() -> None:
    asked: list[dict[str, Any]] = []
    bot = Bot(contexts=context_client(context_handler(asked)))
    turn = await bot.turn("¿a qué hora abren?")
    assert decision_field(turn.decision, "intent") == "business"
    assert "12:00" in turn.reply
