"""Agent failures in memory: which errors are retried, the breaker, the fallback phrase and what
the turn stores, through the real AgentRegistry guard with in-process transports."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from graph.agents.resilience import ResiliencePolicy
from graph.agents.roster import AgentSpec
from graph.agents.transport import (
    AgentBusy,
    AgentFailed,
    AgentRejected,
    AgentReply,
    AgentUnreachable,
)
from graph.phrases import AGENT_DOWN
from tests.fast.kit import CONFIG, Bot, FakeAgent, ScriptedChatModel, decide

pytestmark = pytest.mark.fast

OK = "Perfecto, mesa para 4 el sábado. ¿A nombre de quién?"
BOOKING = "quiero reservar una mesa para 4 personas el sábado"


def reserva_bot(*steps: object, **kwargs: object) -> Bot:
    """A bot whose reserva agent answers `steps` in order (the offline router delegates)."""
    return Bot({"reserva": FakeAgent(list(steps)), "cita": FakeAgent()}, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("error", [AgentUnreachable("ConnectError"), AgentBusy("http_503")])
async def test_an_agent_that_surely_did_not_get_the_turn_is_retried(error: Exception) -> None:
    bot = reserva_bot(error, OK)
    turn = await bot.turn(BOOKING)
    agent = bot.agents["reserva"]
    assert agent.messages == [BOOKING, BOOKING]
    assert turn.outcome() == (OK, "delegate", "reserva", None, "reserva")
    assert bot.observer.seen == [("reserva", True, None)]


async def test_retries_send_the_same_request_id() -> None:
    bot = reserva_bot(AgentUnreachable("ConnectError"), AgentBusy("http_502"), OK)
    await bot.turn(BOOKING, request_id="req-same")
    calls = [call for call, _ in bot.agents["reserva"].calls]
    assert [call.request_id for call in calls] == ["req-same"] * 3
    assert len({id(call) for call in calls}) == 1  # the very same AgentCall each attempt


async def test_unreachable_every_time_stops_at_max_attempts_and_falls_back() -> None:
    bot = reserva_bot(AgentUnreachable("ConnectError"))
    turn = await bot.turn(BOOKING)
    assert len(bot.agents["reserva"].calls) == 3
    assert turn.outcome() == (CONFIG["frase_no_sabe"], "respond", None, None, "reserva")
    assert bot.observer.seen == [("reserva", False, "ConnectError")]


@pytest.mark.parametrize(
    "error",
    [AgentFailed("http_500"), AgentFailed("timeout"), AgentRejected("http_422")],
    ids=["failed", "read-timeout", "rejected"],
)
async def test_an_agent_that_may_have_acted_is_not_retried(error: Exception) -> None:
    bot = reserva_bot(error, OK)
    turn = await bot.turn(BOOKING)
    assert len(bot.agents["reserva"].calls) == 1
    assert turn.outcome()[:3] == (CONFIG["frase_no_sabe"], "respond", None)
    assert bot.observer.seen == [("reserva", False, error.args[0])]


async def test_fallback_is_the_agent_down_phrase_without_frase_no_sabe() -> None:
    config = {k: v for k, v in CONFIG.items() if k != "frase_no_sabe"}
    bot = reserva_bot(AgentFailed("http_500"), config=config)
    turn = await bot.turn(BOOKING)
    assert turn.reply == AGENT_DOWN


async def test_an_empty_agent_reply_is_a_failure() -> None:
    bot = reserva_bot(AgentReply("   \n "))
    turn = await bot.turn(BOOKING)
    assert turn.outcome()[:3] == (CONFIG["frase_no_sabe"], "respond", None)


async def test_a_bug_in_the_transport_is_counted_and_answered() -> None:
    bot = reserva_bot(RuntimeError("boom"))
    turn = await bot.turn(BOOKING)
    assert bot.events.seen == [("internal_error", "agent")]
    assert turn.outcome()[:3] == (CONFIG["frase_no_sabe"], "respond", None)
    assert len(bot.agents["reserva"].calls) == 1


async def test_a_failed_turn_is_stored_as_the_orchestrators_answer() -> None:
    bot = reserva_bot(AgentFailed("http_500"))
    await bot.turn(BOOKING)
    stored = await bot.stored()
    last = stored["messages"][-1]
    assert isinstance(last, AIMessage)
    assert (last.text, last.name) == (CONFIG["frase_no_sabe"], "orquestador")
    assert stored["active_agent"] == "reserva"  # the customer is still booking
    assert stored.get("decision") is None and stored.get("agent_result") is None
    assert (stored["action"], stored["agent_used"], stored["turns"]) == ("respond", None, 1)


async def test_a_good_turn_is_stored_under_the_agents_name() -> None:
    bot = reserva_bot(OK)
    await bot.turn(BOOKING)
    last = (await bot.stored())["messages"][-1]
    assert (last.text, last.name) == (OK, "reserva")


async def test_the_breaker_opens_after_the_threshold_and_the_agent_is_spared() -> None:
    bot = reserva_bot(AgentFailed("http_500"))
    for _ in range(3):
        await bot.turn(BOOKING)
    assert len(bot.agents["reserva"].calls) == 3
    turn = await bot.turn(BOOKING)
    assert len(bot.agents["reserva"].calls) == 3  # not called: the circuit is open
    assert turn.outcome()[:3] == (CONFIG["frase_no_sabe"], "respond", None)
    assert bot.observer.seen[-1] == ("reserva", False, "circuit_open")
    assert bot.registry.breakers()["reserva"]["state"] == "open"


async def test_one_agents_open_breaker_leaves_the_others_alone() -> None:
    bot = reserva_bot(AgentFailed("http_500"))
    for _ in range(3):
        await bot.turn(BOOKING)
    turn = await bot.turn("quisiera agendar una cita con el doctor", session="s2")
    assert turn.outcome()[1:3] == ("delegate", "cita")
    assert bot.registry.breakers()["cita"]["state"] == "closed"


async def test_a_success_resets_the_failure_count() -> None:
    bot = reserva_bot(AgentFailed("http_500"), AgentFailed("http_500"), OK, AgentFailed("x"))
    for _ in range(4):
        await bot.turn(BOOKING)
    assert bot.registry.breakers()["reserva"] == {"state": "closed", "failure_count": 1}


async def test_the_breaker_lets_one_probe_through_once_its_reset_time_passed() -> None:
    policy = ResiliencePolicy(
        timeout=5, max_attempts=1, backoff=0, breaker_threshold=1, breaker_reset=0.0
    )
    bot = reserva_bot(AgentFailed("http_500"), AgentFailed("http_500"), OK, policy=policy)
    await bot.turn(BOOKING)  # fails: the circuit opens (and may probe again at once)
    await bot.turn(BOOKING)  # the probe fails: open again
    turn = await bot.turn(BOOKING)  # the next probe succeeds: closed
    assert turn.outcome()[1:3] == ("delegate", "reserva")
    assert len(bot.agents["reserva"].calls) == 3
    assert bot.registry.breakers()["reserva"] == {"state": "closed", "failure_count": 0}


async def test_the_model_path_fails_over_the_same_way() -> None:
    model = ScriptedChatModel(decide("delegate", "reserva", intent="delegate"))
    bot = reserva_bot(AgentRejected("http_401"), model=model)
    turn = await bot.turn("una mesa por favor")
    assert turn.outcome()[:3] == (CONFIG["frase_no_sabe"], "respond", None)
    assert bot.events.seen == []  # a rejected call is a configuration problem, not a timeout


async def test_the_next_turn_after_a_failure_goes_to_the_agent_again() -> None:
    bot = reserva_bot(AgentFailed("http_500"), OK)
    await bot.turn(BOOKING)
    turn = await bot.turn("para 4 personas")
    assert bot.agents["reserva"].messages == [BOOKING, "para 4 personas"]
    assert turn.outcome() == (OK, "delegate", "reserva", None, "reserva")


async def test_a_long_agent_reply_is_cut_and_counted() -> None:
    long = "palabra " * 100
    bot = reserva_bot(long, max_reply_chars=50)
    turn = await bot.turn(BOOKING)
    assert len(turn.reply) <= 50 and turn.reply.endswith("…")
    assert long.startswith(turn.reply[:-1])
    assert bot.events.seen == [("reply_truncated",)]
    assert (await bot.stored())["messages"][-1].text == turn.reply


async def test_unsafe_characters_of_an_agent_reply_are_removed_before_storing() -> None:
    bot = reserva_bot("Listo\u202e\x00 para 4\r\n¿nombre?")
    turn = await bot.turn(BOOKING)
    assert turn.reply == "Listo para 4\n¿nombre?"
    assert (await bot.stored())["messages"][-1].text == "Listo para 4\n¿nombre?"
    assert bot.events.seen == []


async def test_an_agent_url_is_kept_only_for_its_turn() -> None:
    bot = reserva_bot(AgentReply("Tu comprobante", url="https://x.test/c.pdf"), "¿Algo más?")
    first, second = await bot.talk(BOOKING, "para 4 personas")
    assert first.values["url"] == "https://x.test/c.pdf"
    assert second.values["url"] is None


async def test_ready_states_come_from_each_transport_and_breaker() -> None:
    names = ("reserva", "cita", "venta")
    specs = [AgentSpec(n, f"http://{n}.test", enabled=n != "venta") for n in names]
    agents = {"reserva": FakeAgent([AgentFailed("http_500")]), "cita": FakeAgent(up=False)}
    bot = Bot(agents, specs=specs)
    assert await bot.registry.states() == {
        "reserva": "ok",
        "cita": "unreachable",
        "venta": "disabled",
    }
    for _ in range(3):
        await bot.turn(BOOKING)
    assert (await bot.registry.states())["reserva"] == "circuit_open"


async def test_the_registry_starts_and_closes_every_given_transport() -> None:
    bot = Bot()
    await bot.registry.start()
    await bot.registry.aclose()
    assert {name: (a.started, a.closed) for name, a in bot.agents.items()} == {
        "reserva": (1, 1),
        "cita": (1, 1),
        "venta": (1, 1),
    }
