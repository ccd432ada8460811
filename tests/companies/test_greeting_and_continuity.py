"""The greeting file on a conversation's first greeting, and continuity with a model router."""

from __future__ import annotations

import pytest

from harness.http_agent import HttpAgent
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import RunningApp, StartApp, model_settings
from tests.n8n.helpers import SESSION, agent_env, post, today_body

FILE = "https://cdn.maravia.pe/empresa7/saludo.jpg"


def test_the_first_greeting_sends_archivo_saludo_later_ones_do_not(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    first = post(app, today_body("Hola", archivo_saludo=FILE)).json()
    assert (first["action"], first["agent_used"], first["url"]) == ("respond", None, FILE)
    again = post(app, today_body("Hola", archivo_saludo=FILE)).json()
    assert (again["action"], again["url"]) == ("respond", None)
    # another company's first greeting is its conversation's first: the file again
    other = post(app, today_body("Buenas tardes", id_empresa=9, archivo_saludo=FILE)).json()
    assert other["url"] == FILE
    # without archivo_saludo (or blank), no url
    assert post(app, today_body("Hola", "otro-cliente")).json()["url"] is None
    assert post(app, today_body("Hola", "otro-mas", archivo_saludo="  ")).json()["url"] is None
    # cleared: the next greeting is a first one again
    assert app.client.post(f"/memory/clear/{SESSION}", params={"id_empresa": 7}).status_code == 200
    assert post(app, today_body("Hola", archivo_saludo=FILE)).json()["url"] == FILE


def test_the_greeting_file_with_a_model_router(
    start_app: StartApp, openai_stub: OpenAIStub
) -> None:
    app = start_app(**model_settings(openai_stub))
    greet = route_json("respond", reply="¡Hola! Soy Valeria.", intent="greeting")
    openai_stub.enqueue(route_json("respond", reply="Claro.", intent="business"), greet, greet)
    # a first turn that is not a greeting: no file; later greetings: none either
    assert post(app, today_body("¿Atienden hoy?", archivo_saludo=FILE)).json()["url"] is None
    assert post(app, today_body("Hola", archivo_saludo=FILE)).json()["url"] is None
    assert post(app, today_body("Hola", "nuevo", archivo_saludo=FILE)).json()["url"] == FILE


@pytest.fixture
def booking(start_app: StartApp, openai_stub: OpenAIStub, cita: HttpAgent) -> RunningApp:
    """An app routing with the stub model, in the middle of a booking with `cita`."""
    app = start_app(**agent_env({"cita": cita}), **model_settings(openai_stub))
    openai_stub.enqueue(route_json("delegate", "cita"))
    r = post(app, today_body("Quiero agendar una cita para mañana"))
    assert (r.json()["agent_used"], r.json()["action"]) == ("cita", "delegate"), r.text
    return app


def test_a_model_respond_mid_booking_goes_to_the_active_agent(
    booking: RunningApp, openai_stub: OpenAIStub, cita: HttpAgent
) -> None:
    app = booking
    openai_stub.enqueue(route_json("respond", reply="Mucho gusto, Ana.", intent="other"))
    r = post(app, today_body("Mi nombre es Ana Torres")).json()
    assert (r["agent_used"], r["action"]) == ("cita", "delegate")
    assert r["reply"] == "[cita] recibido: Mi nombre es Ana Torres (turno 2)"
    assert cita.last_body()["message"] == "Mi nombre es Ana Torres"
    assert cita.last_body()["session_id"] == SESSION
    assert app.metrics()["continuity_corrections"] == 1
    prometheus = app.client.get("/metrics/prometheus").text
    assert 'orquestador_continuity_corrections_total{agent="cita"} 1.0' in prometheus
    # a clarifying answer of the model is kept with the agent too
    openai_stub.enqueue(route_json("respond", reply="¿Perdón?", intent="clarify"))
    assert post(app, today_body("a las 10")).json()["agent_used"] == "cita"
    assert app.metrics()["continuity_corrections"] == 2


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("Gracias, chau", "farewell"),
        ("Muchas gracias", "thanks"),
        ("Hola otra vez", "greeting"),
        ("Quiero hablar con una persona", "escalation"),
        ("¿Dónde quedan?", "business"),
    ],
)
def test_the_orchestrators_own_intents_stay_with_it(
    booking: RunningApp, openai_stub: OpenAIStub, cita: HttpAgent, message: str, intent: str
) -> None:
    app = booking
    openai_stub.enqueue(route_json("respond", reply="¡Hasta pronto!", intent=intent))
    r = post(app, today_body(message)).json()
    assert (r["agent_used"], r["action"], r["reply"]) == (None, "respond", "¡Hasta pronto!")
    assert len(cita.calls) == 1  # only the booking's first turn
    assert app.metrics()["continuity_corrections"] == 0


def test_no_correction_without_an_active_agent(
    start_app: StartApp, openai_stub: OpenAIStub, cita: HttpAgent
) -> None:
    app = start_app(**agent_env({"cita": cita}), **model_settings(openai_stub))
    openai_stub.enqueue(route_json("respond", reply="¿En qué te ayudo?", intent="other"))
    r = post(app, today_body("Mi nombre es Ana Torres")).json()
    assert (r["agent_used"], r["action"]) == (None, "respond")
    assert cita.calls == [] and app.metrics()["continuity_corrections"] == 0
