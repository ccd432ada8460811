"""Routing in memory: the model's decision (exact prompt, schema), its corrections, the offline
router, the modalidad restriction and the direct mode, through the real graph factory."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from graph.agents.roster import AgentSpec
from graph.agents.transport import AgentReply
from tests.fast.kit import (
    CONFIG,
    Bot,
    FakeAgent,
    ScriptedChatModel,
    context_client,
    decide,
    decision_field,
    decision_tuple,
    texts,
)

pytestmark = pytest.mark.fast


def agent_names_in_schema(model: ScriptedChatModel, index: int = -1) -> list[str]:
    """The agent names the decision schema bound to the model allows (`index`: which binding)."""
    schema = model.bound[index]["tools"][0]
    choice = schema["properties"]["agent"]["anyOf"][0]
    return choice["enum"] if "enum" in choice else [choice["const"]]


# -- the model router --------------------------------------------------------------------------
async def test_first_turn_prompt_is_system_context_and_the_message() -> None:
    model = ScriptedChatModel(decide("respond", reply="¡Hola!", intent="greeting"))
    bot = Bot(model=model)
    await bot.turn("hola")
    [prompt] = model.prompts
    assert [type(m) for m in prompt] == [SystemMessage, HumanMessage, HumanMessage]
    assert prompt[0].text.startswith("You are the router of a customer-service chat")
    assert prompt[1].text == "<contexto_negocio>\n(sin información)\n</contexto_negocio>"
    assert prompt[2].text == "hola"


async def test_system_prompt_carries_the_bot_persona_phrases_and_agents() -> None:
    model = ScriptedChatModel(decide("respond", reply="ok"))
    bot = Bot(model=model)
    await bot.turn("hola")
    system = model.prompts[0][0].text
    assert "- nombre_bot: Valeria" in system
    assert "- tipo_bot: restaurante" in system
    assert f"- frase_no_sabe: {CONFIG['frase_no_sabe']}" in system
    assert "ENABLED AGENTS:\n- reserva: " in system and "\n- cita: " in system
    assert "\n- venta: " in system
    assert system.rstrip().endswith("ACTIVE AGENT: none")


async def test_no_secret_or_user_text_reaches_the_system_prompt() -> None:
    model = ScriptedChatModel(decide("respond", reply="ok"))
    bot = Bot(model=model)
    await bot.turn("mi clave es 4455", api_key="sk-empresa-123456")
    system = model.prompts[0][0].text
    assert "sk-empresa-123456" not in system and "4455" not in system
    assert bot.models.keys == ["sk-empresa-123456"]


async def test_decision_schema_offers_exactly_the_enabled_agents() -> None:
    model = ScriptedChatModel(decide("respond", reply="ok"))
    bot = Bot(model=model)
    await bot.turn("hola")
    assert agent_names_in_schema(model) == ["reserva", "cita", "venta"]
    assert model.bound[-1]["tool_choice"] == "any"


async def test_model_delegation_hands_the_exact_turn_to_the_agent() -> None:
    model = ScriptedChatModel(decide("delegate", "reserva", intent="delegate"))
    bot = Bot(model=model)
    turn = await bot.turn("Quiero una mesa para 4", api_key="sk-emp-1", request_id="req-77")
    assert turn.nodes == ["router", "agent_reserva", "responder"]
    assert decision_tuple(turn.decision) == ("delegate", "reserva", "delegate")
    [(call, timeout)] = bot.agents["reserva"].calls
    assert call.message == "Quiero una mesa para 4"
    assert (call.session_id, call.id_empresa, call.api_key) == ("s1", 12, "sk-emp-1")
    assert call.request_id == "req-77"
    assert dict(call.config) == CONFIG
    assert 0 < timeout <= 5.0
    assert turn.outcome() == (
        "Listo, ¿para cuántas personas?",
        "delegate",
        "reserva",
        None,
        "reserva",
    )
    assert bot.agents["cita"].calls == [] and bot.agents["venta"].calls == []


async def test_model_reply_is_the_turns_reply_and_no_agent_is_called() -> None:
    model = ScriptedChatModel(
        decide("respond", reply="  Abrimos a las 12:00.  ", intent="business")
    )
    bot = Bot(model=model)
    turn = await bot.turn("¿a qué hora abren?")
    assert turn.nodes == ["router", "responder"]
    assert turn.outcome() == ("Abrimos a las 12:00.", "respond", None, None, None)
    assert all(agent.calls == [] for agent in bot.agents.values())


async def test_model_reply_blank_becomes_the_dont_know_phrase() -> None:
    model = ScriptedChatModel(decide("respond", reply="   ", intent="other"))
    bot = Bot(model=model)
    turn = await bot.turn("¿tienen estacionamiento?")
    assert turn.reply == CONFIG["frase_no_sabe"]
    assert decision_field(turn.decision, "reply") == CONFIG["frase_no_sabe"]


async def test_dont_know_default_phrase_names_no_bot_when_the_config_has_none() -> None:
    model = ScriptedChatModel(decide("respond", reply=None))
    bot = Bot(model=model, config={"id_empresa": 3})
    turn = await bot.turn("¿tienen estacionamiento?")
    assert turn.reply.startswith("Disculpa, no tengo esa información")


async def test_model_delegating_with_a_reply_drops_the_reply() -> None:
    model = ScriptedChatModel(
        decide("delegate", "venta", reply="Te paso con ventas", intent="delegate")
    )
    bot = Bot(model=model)
    turn = await bot.turn("¿cuánto cuesta el ceviche?")
    assert decision_field(turn.decision, "reply") is None
    assert turn.reply == "Listo, ¿para cuántas personas?"  # the agent's, not the router's
    assert bot.agents["venta"].messages == ["¿cuánto cuesta el ceviche?"]


async def test_model_responding_with_an_agent_clears_the_agent() -> None:
    model = ScriptedChatModel(decide("respond", "reserva", reply="Claro", intent="clarify"))
    bot = Bot(model=model)
    turn = await bot.turn("una pregunta")
    assert decision_tuple(turn.decision) == ("respond", None, "clarify")
    assert bot.agents["reserva"].calls == []


async def test_model_picking_an_unknown_agent_answers_dont_know() -> None:
    model = ScriptedChatModel(decide("delegate", "delivery", intent="delegate"))
    bot = Bot(model=model)
    turn = await bot.turn("quiero delivery")
    assert decision_tuple(turn.decision) == ("respond", None, "clarify")
    assert turn.outcome() == (CONFIG["frase_no_sabe"], "respond", None, None, None)
    assert bot.events.seen == []


async def test_model_picking_a_disabled_agent_is_not_obeyed() -> None:
    specs = [
        AgentSpec("reserva", "http://reserva.test"),
        AgentSpec("venta", "http://venta.test", enabled=False),
    ]
    model = ScriptedChatModel(decide("delegate", "venta", intent="delegate"))
    bot = Bot({"reserva": FakeAgent(), "venta": FakeAgent()}, model=model, specs=specs)
    turn = await bot.turn("precio del lomo")
    assert agent_names_in_schema(model) == ["reserva"]
    assert "agent_venta" not in bot.graph.nodes
    assert turn.outcome()[:3] == (CONFIG["frase_no_sabe"], "respond", None)
    assert bot.agents["venta"].calls == []


async def test_agent_url_reaches_the_state() -> None:
    agent = FakeAgent([AgentReply("Aquí está la carta", url="https://x.test/carta.pdf")])
    model = ScriptedChatModel(decide("delegate", "venta", intent="delegate"))
    bot = Bot({"venta": agent}, model=model)
    turn = await bot.turn("mándame la carta")
    assert turn.outcome() == (
        "Aquí está la carta",
        "delegate",
        "venta",
        "https://x.test/carta.pdf",
        "venta",
    )


async def test_each_turn_calls_the_model_once_with_one_new_message() -> None:
    model = ScriptedChatModel(
        decide("respond", reply="¡Hola!", intent="greeting"),
        decide("respond", reply="De nada", intent="thanks"),
    )
    bot = Bot(model=model)
    await bot.talk("hola", "gracias")
    assert model.calls == 2
    assert texts(model.prompts[1][2:]) == ["gracias"]
    assert model.prompts[1][1].text == (
        "<contexto_negocio>\n(sin información)\n</contexto_negocio>\n"
        "<historial>\nCliente: hola\nAsistente: ¡Hola!\n</historial>"
    )


async def test_the_decision_schema_is_built_once_per_agent_set() -> None:
    model = ScriptedChatModel(*(decide("respond", reply="ok") for _ in range(3)))
    bot = Bot(model=model)
    await bot.talk("uno", "dos")
    await bot.turn("tres", allowed_agents=("cita",), modalidad="citas")
    assert [agent_names_in_schema(model, i) for i in range(len(model.bound))] == [
        ["reserva", "cita", "venta"],
        ["cita"],
    ]


# -- the modalidad restriction ------------------------------------------------------------------
async def test_modalidad_shows_the_model_only_its_agent() -> None:
    model = ScriptedChatModel(decide("delegate", "cita", intent="delegate"))
    bot = Bot(model=model)
    await bot.turn("quiero una cita", allowed_agents=("cita",), modalidad="citas")
    assert agent_names_in_schema(model) == ["cita"]
    system = model.prompts[0][0].text
    assert "ENABLED AGENTS:\n- cita: " in system
    assert "- reserva:" not in system and "- venta:" not in system


async def test_modalidad_corrects_the_models_other_agent_and_counts_it() -> None:
    model = ScriptedChatModel(decide("delegate", "venta", intent="delegate"))
    bot = Bot(model=model)
    turn = await bot.turn("quiero comprar", allowed_agents=("cita",), modalidad="citas")
    assert decision_tuple(turn.decision) == ("delegate", "cita", "delegate")
    assert bot.events.seen == [("routing_correction", "citas", "venta")]
    assert bot.agents["cita"].messages == ["quiero comprar"]
    assert bot.agents["venta"].calls == []
    assert turn.outcome()[2] == "cita"


async def test_restriction_to_two_agents_refuses_a_third_without_correction() -> None:
    model = ScriptedChatModel(decide("delegate", "venta", intent="delegate"))
    bot = Bot(model=model)
    turn = await bot.turn("comprar", allowed_agents=("reserva", "cita"))
    assert decision_tuple(turn.decision) == ("respond", None, "clarify")
    assert bot.events.seen == []
    assert all(agent.calls == [] for agent in bot.agents.values())


async def test_modalidad_restricts_the_offline_router_too() -> None:
    bot = Bot()
    turn = await bot.turn(
        "quiero reservar una mesa para 4 el sábado", allowed_agents=("cita",), modalidad="citas"
    )
    assert bot.agents["reserva"].calls == []
    assert decision_field(turn.decision, "agent") in (None, "cita")


async def test_restriction_to_no_agent_never_delegates() -> None:
    model = ScriptedChatModel(decide("delegate", "reserva", intent="delegate"))
    bot = Bot(model=model)
    turn = await bot.turn("quiero reservar", allowed_agents=())
    assert turn.outcome()[1:3] == ("respond", None)
    assert all(agent.calls == [] for agent in bot.agents.values())


async def test_active_agent_outside_the_modalidad_is_not_shown_as_active() -> None:
    model = ScriptedChatModel(
        decide("delegate", "reserva", intent="delegate"),
        decide("delegate", "cita", intent="delegate"),
    )
    bot = Bot(model=model)
    await bot.turn("una mesa")
    await bot.turn("y una cita", allowed_agents=("cita",), modalidad="citas")
    assert model.prompts[0][0].text.rstrip().endswith("ACTIVE AGENT: none")
    assert model.prompts[1][0].text.rstrip().endswith("ACTIVE AGENT: none")


# -- the direct mode ---------------------------------------------------------------------------
async def test_direct_mode_goes_to_the_agent_without_the_model() -> None:
    model = ScriptedChatModel()  # any call would fail: nothing scripted
    bot = Bot(model=model)
    turn = await bot.turn("hola", direct=True, allowed_agents=("venta",), modalidad="ventas")
    assert model.calls == 0
    assert turn.nodes == ["router", "agent_venta", "responder"]
    assert bot.agents["venta"].messages == ["hola"]
    assert turn.outcome()[1:3] == ("delegate", "venta")


async def test_direct_mode_without_an_agent_answers_the_fallback_phrase() -> None:
    bot = Bot(model=ScriptedChatModel())
    turn = await bot.turn("hola", direct=True, allowed_agents=())
    assert turn.outcome() == (CONFIG["frase_no_sabe"], "respond", None, None, None)
    assert all(agent.calls == [] for agent in bot.agents.values())


async def test_direct_mode_skips_the_business_context() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.content.decode())
        return httpx.Response(200, json={"contexto": "x"})

    bot = Bot(contexts=context_client(handler))
    await bot.turn("hola", direct=True, allowed_agents=("cita",))
    assert asked == []


# -- the offline router (no model) ------------------------------------------------------------
async def test_offline_greeting_is_the_greeting_phrase() -> None:
    bot = Bot()
    turn = await bot.turn("hola")
    assert decision_tuple(turn.decision) == ("respond", None, "greeting")
    assert turn.outcome() == (CONFIG["frase_saludo"], "respond", None, None, None)


@pytest.mark.parametrize(
    ("message", "agent"),
    [
        ("quiero reservar una mesa para 4 personas el sábado", "reserva"),
        ("quisiera agendar una cita con el doctor", "cita"),
        ("cuánto cuesta el lomo saltado, quiero comprar dos", "venta"),
    ],
)
async def test_offline_router_delegates_by_vocabulary(message: str, agent: str) -> None:
    bot = Bot()
    turn = await bot.turn(message)
    assert decision_tuple(turn.decision) == ("delegate", agent, "delegate")
    assert bot.agents[agent].messages == [message]
    assert [n for n, a in bot.agents.items() if a.calls] == [agent]


async def test_offline_escalation_is_the_escalation_phrase() -> None:
    bot = Bot()
    turn = await bot.turn("quiero hablar con una persona, tengo un reclamo")
    assert turn.outcome() == (CONFIG["frase_esc"], "respond", None, None, None)
    assert decision_field(turn.decision, "intent") == "escalation"


async def test_no_model_source_means_offline_and_no_key_is_asked() -> None:
    bot = Bot()
    await bot.turn("hola", api_key="sk-x")
    assert bot.models.keys == []
