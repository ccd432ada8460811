"""`config.modalidad` chooses the bot's specialist: the table, loose matching, the restriction
under the model router and the offline router, unrecognised values, and ROUTING_MODE=direct."""

from __future__ import annotations

import re
from typing import Any

import pytest

from harness.http_agent import HttpAgent
from harness.openai_specs import request_schema, route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, chat_body, model_settings
from tests.n8n.helpers import agent_env, post, today_body

ALL = {"cita", "venta", "reserva", "citas_ventas"}
MODALIDADES = [
    # (as sent, the agent it names, the normalized key)
    ("Citas", "cita", "citas"),
    ("Ventas", "venta", "ventas"),
    ("Reservas", "reserva", "reservas"),
    ("Citas y Ventas", "citas_ventas", "citas y ventas"),
    (" CITAS ", "cita", "citas"),
    ("cítas", "cita", "citas"),
    ("  vEnTaS\t", "venta", "ventas"),
    ("RÉSERVAS", "reserva", "reservas"),
    ("citas  y   VENTAS ", "citas_ventas", "citas y ventas"),
    ("Cítas Y Véntas", "citas_ventas", "citas y ventas"),
]
ANOTHER = {"cita": "venta", "venta": "reserva", "reserva": "cita", "citas_ventas": "reserva"}
"""For each bot's agent, the other agent the scripted model picks."""


def prometheus(app: Any) -> str:
    return app.client.get("/metrics/prometheus").text


def router_agents(req: dict[str, Any]) -> set[str]:
    """The agent names a router request's schema allows."""
    schema = request_schema(req)
    assert schema is not None and "action" in schema["properties"]
    text = repr(schema["properties"]["agent"]) + repr(schema.get("$defs", {}))
    return {name for name in ALL if f"'{name}'" in text}


def prompt_agents(req: dict[str, Any]) -> set[str]:
    """The agent names listed under ENABLED AGENTS in a router request's system prompt."""
    system = req["messages"][0]["content"]
    section = system.split("ENABLED AGENTS:", 1)[1].split("ACTIVE AGENT:", 1)[0]
    return set(re.findall(r"^- (\w+):", section, re.MULTILINE))


@pytest.mark.parametrize(("modalidad", "agent", "key"), MODALIDADES)
def test_the_model_router_is_restricted_and_corrected_to_the_bots_agent(
    start_app: StartApp,
    openai_stub: OpenAIStub,
    agents: dict[str, HttpAgent],
    modalidad: str,
    agent: str,
    key: str,
) -> None:
    app = start_app(**agent_env(agents), **model_settings(openai_stub))
    chosen = ANOTHER[agent]
    openai_stub.set_handler(lambda req: route_json("delegate", chosen))
    r = post(app, today_body("Necesito ayuda con lo mío", modalidad=modalidad))
    assert r.status_code == 200, r.text
    assert (r.json()["agent_used"], r.json()["action"]) == (agent, "delegate")
    assert len(agents[agent].calls) == 1 and agents[chosen].calls == []
    assert agents[agent].calls[0]["body"]["message"] == "Necesito ayuda con lo mío"
    (req,) = openai_stub.requests
    assert router_agents(req) == {agent} == prompt_agents(req)  # only the bot's agent shown
    metrics = app.metrics()
    assert (metrics["routing_corrections"], metrics["modalidad_unrecognized"]) == (1, 0)
    line = f'orquestador_routing_corrections_total{{chosen="{chosen}",modalidad="{key}"}} 1.0'
    assert line in prometheus(app)
    # the model answering itself is not a correction; choosing the bot's agent neither
    openai_stub.set_handler(None)
    openai_stub.enqueue(route_json("respond", reply="¡Hola! Soy Valeria.", intent="greeting"))
    openai_stub.enqueue(route_json("delegate", agent))
    assert post(app, today_body("hola", modalidad=modalidad)).json()["action"] == "respond"
    assert post(app, today_body("otra cosa", modalidad=modalidad)).json()["agent_used"] == agent
    assert app.metrics()["routing_corrections"] == 1


@pytest.mark.parametrize(
    ("modalidad", "agent", "message", "other"),
    [
        ("Citas", "cita", "Quiero agendar una cita con el doctor", "venta"),
        ("Ventas", "venta", "¿Cuánto cuesta el producto? Quiero comprar dos", "cita"),
        ("Reservas", "reserva", "Quiero reservar una mesa para 4 el sábado", "cita"),
        ("Citas y Ventas", "citas_ventas", "Quiero agendar una cita", "cita"),
    ],
)
def test_the_offline_router_obeys_the_same_restriction(
    start_app: StartApp,
    agents: dict[str, HttpAgent],
    modalidad: str,
    agent: str,
    message: str,
    other: str,
) -> None:
    app = start_app(**agent_env(agents), LLM_MODE="offline")
    r = post(app, today_body(message, modalidad=modalidad))
    assert (r.status_code, r.json()["agent_used"]) == (200, agent), r.text
    # a plain request for another agent's domain never reaches it
    asks_other = {
        "venta": "Quiero comprar zapatos, ¿cuánto cuestan?",
        "cita": "Quiero agendar una cita con el doctor",
    }[other]
    r = post(app, today_body(asks_other, session_id=51900000003, modalidad=modalidad))
    assert r.status_code == 200 and r.json()["agent_used"] in (agent, None)
    assert agents[other].calls == [] or other == agent
    assert {name for name in ALL if agents[name].calls} <= {agent}
    assert app.metrics()["modalidad_unrecognized"] == 0


@pytest.mark.parametrize("modalidad", ["presencial y delivery", None, "", "   "])
def test_an_unrecognised_modalidad_offers_every_enabled_agent_and_is_counted(
    start_app: StartApp,
    openai_stub: OpenAIStub,
    agents: dict[str, HttpAgent],
    modalidad: str | None,
) -> None:
    app = start_app(**agent_env(agents), **model_settings(openai_stub))
    openai_stub.set_handler(lambda req: route_json("delegate", "venta"))
    body = today_body("Quiero comprar", modalidad=modalidad)
    if modalidad is None:
        del body["config"]["modalidad"]
    r = post(app, body)
    assert (r.status_code, r.json()["agent_used"]) == (200, "venta"), r.text
    (req,) = openai_stub.requests
    assert router_agents(req) == ALL == prompt_agents(req)
    metrics = app.metrics()
    assert (metrics["modalidad_unrecognized"], metrics["routing_corrections"]) == (1, 0)
    assert "orquestador_modalidad_unrecognized_total 1.0" in prometheus(app)
    # the offline router too: another turn goes to whatever agent the words name
    r = post(app, chat_body("quiero reservar una mesa", "v02-libre", modalidad=modalidad))
    assert r.status_code == 200 and app.metrics()["modalidad_unrecognized"] == 2


def test_a_recognised_modalidad_whose_agent_is_missing_does_not_restrict(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    declared = {name: agents[name] for name in ("cita", "venta")}
    app = start_app(**agent_env(declared), **model_settings(openai_stub))
    openai_stub.set_handler(lambda req: route_json("delegate", "venta"))
    r = post(app, today_body("Quiero comprar", modalidad="Reservas"))
    assert (r.status_code, r.json()["agent_used"]) == (200, "venta"), r.text
    assert router_agents(openai_stub.last_request()) == {"cita", "venta"}
    assert app.metrics()["routing_corrections"] == 0


def test_the_table_is_configurable(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    table = {"Delivery": "venta", "Agenda Médica": "cita"}
    app = start_app(**agent_env(agents), MODALIDAD_AGENTS=table, **model_settings(openai_stub))
    openai_stub.set_handler(lambda req: route_json("delegate", "reserva"))
    assert post(app, today_body("hola", modalidad=" DELIVERY")).json()["agent_used"] == "venta"
    r = post(app, today_body("hola", session_id=2, modalidad="agenda medica"))
    assert r.json()["agent_used"] == "cita"
    # the default table is replaced, not extended
    r = post(app, today_body("hola", session_id=3, modalidad="Citas"))
    assert r.json()["agent_used"] == "reserva"
    metrics = app.metrics()
    assert (metrics["routing_corrections"], metrics["modalidad_unrecognized"]) == (2, 1)


# -- ROUTING_MODE=direct -------------------------------------------------------------------------
@pytest.fixture
def direct_app(start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]) -> Any:
    return start_app(**agent_env(agents), ROUTING_MODE="direct", **model_settings(openai_stub))


@pytest.mark.parametrize(("modalidad", "agent", "key"), MODALIDADES)
def test_direct_mode_sends_every_turn_to_the_modalidads_agent_without_a_model(
    direct_app: Any,
    openai_stub: OpenAIStub,
    agents: dict[str, HttpAgent],
    modalidad: str,
    agent: str,
    key: str,
) -> None:
    messages = ["hola", "Quiero reservar una mesa", "¿cuánto cuesta?", "gracias, adiós"]
    for message in messages:
        r = post(direct_app, today_body(message, modalidad=modalidad))
        assert r.status_code == 200, r.text
        assert (r.json()["agent_used"], r.json()["action"]) == (agent, "delegate")
    assert [call["body"]["message"] for call in agents[agent].calls] == messages
    assert all(agents[name].calls == [] for name in ALL - {agent})
    assert openai_stub.request_count == 0  # no router model call at all
    metrics = direct_app.metrics()
    assert (metrics["modalidad_unrecognized"], metrics["routing_corrections"]) == (0, 0)


@pytest.mark.parametrize("value", ["presencial y delivery", "  Presencial Y Delivery ", "citas,"])
def test_direct_mode_refuses_an_unrecognised_modalidad_as_sent(
    direct_app: Any, openai_stub: OpenAIStub, agents: dict[str, HttpAgent], value: str
) -> None:
    r = post(direct_app, today_body("hola", modalidad=value))
    assert (r.status_code, r.json()) == (400, {"detail": f"Modalidad no reconocida: {value}"})
    assert not any(agents[name].calls for name in ALL) and openai_stub.request_count == 0


@pytest.mark.parametrize("value", [None, "", "   "])
def test_direct_mode_refuses_a_missing_modalidad(
    direct_app: Any, agents: dict[str, HttpAgent], value: str | None
) -> None:
    body = today_body("hola", modalidad=value)
    if value is None:
        del body["config"]["modalidad"]
    r = post(direct_app, body)
    assert (r.status_code, r.json()) == (
        400,
        {"detail": "El campo 'config.modalidad' no puede estar vacío"},
    )
    # the stream refuses it the same way, before starting
    r = direct_app.client.post("/api/agent/chat/stream", json=body)
    assert r.status_code == 400 and "config.modalidad" in r.json()["detail"]


def test_direct_mode_with_the_bots_agent_missing_answers_the_fallback(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(
        **agent_env({"cita": agents["cita"]}), ROUTING_MODE="direct", **model_settings(openai_stub)
    )
    r = post(app, today_body("Quiero comprar", modalidad="Ventas"))
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["action"], data["agent_used"]) == ("respond", None)
    assert data["reply"] == "Déjame consultarlo con el equipo."
    assert agents["cita"].calls == [] and openai_stub.request_count == 0
