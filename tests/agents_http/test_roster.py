"""A five-agent roster (four HTTP, one MCP) declared only by AGENT_*, reached by both routers."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from harness.agents import AgentHandle
from harness.http_agent import HttpAgent
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings
from scripts.demo_config import DEMO_CONFIG
from tests.agents_http.conftest import SOPORTE, ProductionAgents

FIVE = ("cita", "venta", "citas_ventas", "reserva", "soporte")


def received(agents: ProductionAgents, soporte: AgentHandle) -> dict[str, list[str]]:
    """The messages each of the five agents received, by agent."""
    got = {agent.name: [call["body"]["message"] for call in agent.calls] for agent in agents.all()}
    got["soporte"] = [call["message"] for call in soporte.chat_calls()]
    return got


def test_the_roster_is_exactly_the_declared_agents(
    start_app: StartApp, five_agents: dict[str, Any]
) -> None:
    app = start_app(LLM_MODE="offline", **five_agents)
    config = app.client.get("/config").json()
    assert list(config["agents"]) == ["cita", "venta", "citas_ventas", "reserva", "soporte"]
    protocols = {name: agent["protocol"] for name, agent in config["agents"].items()}
    assert protocols == {
        "cita": "http",
        "venta": "http",
        "citas_ventas": "http",
        "reserva": "http",
        "soporte": "mcp",
    }
    assert config["agents"]["cita"]["token_configured"] is True
    assert config["agents"]["reserva"]["body"] == "context"
    assert config["agents"]["soporte"]["description"] == SOPORTE
    assert "tok-interno" not in json.dumps(config)  # the token is a secret
    assert app.client.get("/ready").json()["agents"] == dict.fromkeys(FIVE, "ok")
    metrics = app.metrics()
    assert set(metrics["circuit_breakers"]) == set(FIVE)
    assert metrics["agent_calls"] == dict.fromkeys(FIVE, 0)
    assert metrics["agent_failures"] == dict.fromkeys(FIVE, 0)


def test_the_model_router_reaches_each_agent(
    start_app: StartApp,
    openai_stub: OpenAIStub,
    production_agents: ProductionAgents,
    soporte: AgentHandle,
    five_agents: dict[str, Any],
) -> None:
    app = start_app(**five_agents, **model_settings(openai_stub))
    for name in FIVE:
        openai_stub.enqueue(route_json("delegate", name, intent="delegate"))
        body = app.chat(f"mensaje para {name}", session_id=f"m-{name}").json()
        assert (body["action"], body["agent_used"]) == ("delegate", name)
        # the router was shown every agent of the roster, and only those
        schema = json.dumps(openai_stub.last_request()["response_format"])
        for other in FIVE:
            assert f'"{other}"' in schema
        assert '"postventa"' not in schema
    assert SOPORTE in openai_stub.messages_text(-1)  # the description is in the prompt
    assert received(production_agents, soporte) == {name: [f"mensaje para {name}"] for name in FIVE}


def test_the_offline_router_reaches_each_agent(
    start_app: StartApp,
    production_agents: ProductionAgents,
    soporte: AgentHandle,
    five_agents: dict[str, Any],
) -> None:
    app = start_app(LLM_MODE="offline", **five_agents)
    turns = [
        # (message, the bot's modalidad, the agent expected)
        ("quiero reservar una mesa para 4 personas el sábado", None, "reserva"),
        ("mi equipo tiene una falla, necesito una reparación", None, "soporte"),
        ("quiero agendar una cita para mañana", "Citas", "cita"),
        ("¿cuánto cuesta el plan mensual?", "Ventas", "venta"),
        ("quiero agendar una cita para mañana", "Citas y Ventas", "citas_ventas"),
        # no modalidad: the dedicated agent, not a question offering "una cita" twice
        ("quiero agendar una cita para mañana", None, "cita"),
        ("¿cuánto cuesta el plan mensual?", None, "venta"),
        ("¿cuánto cuesta el plan mensual?", " citas y ventas ", "citas_ventas"),
    ]
    for i, (message, modalidad, agent) in enumerate(turns):
        config = {"modalidad": modalidad} if modalidad else {}
        body = app.chat(message, session_id=f"o{i}", **config).json()
        assert (body["action"], body["agent_used"]) == ("delegate", agent), message
    got = received(production_agents, soporte)
    assert got["soporte"] == ["mi equipo tiene una falla, necesito una reparación"]
    assert len(got["citas_ventas"]) == 2 and len(got["reserva"]) == 1
    assert len(got["cita"]) == 2 and len(got["venta"]) == 2


def test_an_unknown_agent_is_routed_by_the_words_of_its_description(
    start_app: StartApp, chat_agent: Any, production_agents: ProductionAgents
) -> None:
    postventa = chat_agent("postventa")
    app = start_app(
        LLM_MODE="offline",
        AGENT_RESERVA_URL=production_agents.reserva.url,
        AGENT_RESERVA_BODY="context",
        AGENT_POSTVENTA_URL=postventa.url,
        AGENT_POSTVENTA_DESCRIPTION="cambios de talla y garantías de prendas",
    )
    body = app.chat("necesito cambiar la talla de una prenda", session_id="pv1").json()
    assert (body["action"], body["agent_used"]) == ("delegate", "postventa")
    body = app.chat("quiero reservar una cancha para el domingo", session_id="pv2").json()
    assert (body["action"], body["agent_used"]) == ("delegate", "reserva")
    assert [call["message"] for call in postventa.chat_calls()] == [
        "necesito cambiar la talla de una prenda"
    ]


def test_a_one_agent_bot_sends_its_agent_everything_it_does_not_answer_itself(
    start_app: StartApp,
) -> None:
    with HttpAgent("postventa", "flat") as postventa:
        app = start_app(
            LLM_MODE="offline",
            AGENT_POSTVENTA_URL=postventa.url,
            AGENT_POSTVENTA_DESCRIPTION="seguimiento de pedidos y reclamos de clientes",
        )
        answered = {
            "hola": DEMO_CONFIG["frase_saludo"],
            "gracias, hasta luego": DEMO_CONFIG["frase_des"],
            "quiero hablar con una persona": DEMO_CONFIG["frase_esc"],
        }
        for i, (message, reply) in enumerate(answered.items()):
            body = app.chat(message, session_id=f"one{i}").json()
            assert body == {
                "reply": reply,
                "session_id": f"one{i}",
                "agent_used": None,
                "action": "respond",
                "url": None,
            }, message
        # a business question with no business context: the orchestrator answers
        body = app.chat("¿cuál es su horario de atención?", session_id="one-h").json()
        assert body["action"] == "respond"
        delegated = [
            "quiero reservar una mesa",  # the reference vocabulary of another agent
            "tengo una consulta sobre lo que compré",
            "asdf qwerty",
        ]
        for i, message in enumerate(delegated):
            body = app.chat(message, session_id=f"two{i}").json()
            assert (body["action"], body["agent_used"]) == ("delegate", "postventa"), message
        assert [call["body"]["message"] for call in postventa.calls] == delegated


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_prometheus_counts_calls_failures_and_latency_per_agent(
    start_app: StartApp, production_agents: ProductionAgents, five_agents: dict[str, Any]
) -> None:
    app = start_app(LLM_MODE="offline", MCP_MAX_RETRIES=1, **five_agents)
    app.chat("quiero reservar una mesa", session_id="p1", modalidad="Reservas")
    app.chat("quiero una cita", session_id="p2", modalidad="Citas")
    production_agents.cita.state.statuses.append(500)
    app.chat("quiero otra cita", session_id="p3", modalidad="Citas")
    got = _samples(app.client.get("/metrics/prometheus").text)
    assert got[("orquestador_agent_calls_total", (("agent", "reserva"),))] == 1
    assert got[("orquestador_agent_calls_total", (("agent", "cita"),))] == 2
    failures = "orquestador_agent_failures_total"
    assert got[(failures, (("agent", "cita"), ("reason", "http_500")))] == 1
    assert (failures, (("agent", "reserva"), ("reason", "http_500"))) not in got
    histogram = "orquestador_agent_call_seconds"
    assert got[(f"{histogram}_count", (("agent", "cita"), ("outcome", "ok")))] == 1
    assert got[(f"{histogram}_count", (("agent", "cita"), ("outcome", "error")))] == 1
    assert got[(f"{histogram}_count", (("agent", "reserva"), ("outcome", "ok")))] == 1
    buckets = [k for k in got if k[0] == f"{histogram}_bucket" and ("agent", "reserva") in k[1]]
    assert len(buckets) > 5  # a real histogram, labelled by agent
    for name in FIVE:
        assert got[("orquestador_circuit_breaker_state", (("agent", name),))] == 0
    assert app.metrics()["agent_failures"] == {**dict.fromkeys(FIVE, 0), "cita": 1}
