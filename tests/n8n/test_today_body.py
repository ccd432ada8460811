"""Today's n8n body on the same path: accepted, echoed in its own types, and what the agent gets."""

from __future__ import annotations

from typing import Any

import pytest

from harness.agents import AgentFactory
from harness.http_agent import HttpAgent
from harness.orchestrator import StartApp, chat_body
from server.schemas import ID_EMPRESA, MSG_EMPTY, SESSION_EMPTY
from tests.n8n.helpers import COMPANY, SESSION, agent_env, post, read_events, today_body

TOP_ID_EMPRESA = "El campo 'id_empresa' debe ser un número mayor a 0"
COMPANY_KEY = "sk-company-7-a1b2c3d4e5f6"
BROCHURE = "https://cdn.example.com/empresa7/folleto.pdf"


@pytest.fixture
def app(start_app: StartApp, agents: dict[str, HttpAgent]) -> Any:
    return start_app(LLM_MODE="offline", **agent_env(agents))


def test_todays_body_reaches_the_flat_agent_with_key_company_and_integer_id(
    app: Any, agents: dict[str, HttpAgent]
) -> None:
    agents["cita"].state.url = BROCHURE
    body = today_body("Quiero una cita para mañana", api_key=COMPANY_KEY)
    r = post(app, body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == {"reply", "session_id", "agent_used", "action", "url"}
    assert data["session_id"] == SESSION and isinstance(data["session_id"], int)
    assert '"session_id":51987654321' in r.text  # a JSON number, not a string
    assert (data["agent_used"], data["action"], data["url"]) == ("cita", "delegate", BROCHURE)
    assert data["reply"] == "[cita] recibido: Quiero una cita para mañana (turno 1)"
    got = agents["cita"].last_body()
    assert got["session_id"] == SESSION and got["id_empresa"] == COMPANY
    assert got["api_key"] == COMPANY_KEY
    assert got["config"]["modalidad"] == "Citas" and got["config"]["id_empresa"] == COMPANY
    assert got["config"]["usuario_id"] == 5 and got["config"]["id_chatbot"] == 9  # passed through
    assert got["config"]["agendar_usuario"] is True and got["config"]["agendar_sucursal"] is False
    assert not any(name in got["config"] for name in ("rol_bot", "tipo_bot", "objetivo_principal"))


def test_a_string_session_id_is_echoed_as_a_string(app: Any, agents: dict[str, HttpAgent]) -> None:
    r = post(app, today_body("Quiero una cita", session_id="51911122233"))
    assert r.status_code == 200, r.text
    assert r.json()["session_id"] == "51911122233"
    assert agents["cita"].last_body()["session_id"] == 51911122233  # the agent takes an int
    # the same conversation whichever JSON type the id comes in
    r = post(app, today_body("y para el jueves", session_id=51911122233))
    assert r.json()["session_id"] == 51911122233
    assert r.json()["reply"].endswith("(turno 2)")


def test_context_agents_get_the_company_in_their_config_and_never_the_key(
    app: Any, agents: dict[str, HttpAgent]
) -> None:
    body = today_body("Quiero reservar una mesa", api_key=COMPANY_KEY, modalidad="Reservas")
    r = post(app, body)
    assert r.status_code == 200, r.text
    assert r.json()["agent_used"] == "reserva"
    got = agents["reserva"].last_body()
    assert got["session_id"] == SESSION
    assert got["context"]["config"]["id_empresa"] == COMPANY
    assert got["context"]["config"]["modalidad"] == "Reservas"
    assert COMPANY_KEY not in repr(got)


def test_the_top_level_company_wins_over_the_configs(
    app: Any, agents: dict[str, HttpAgent]
) -> None:
    body = today_body("Quiero una cita", id_empresa=7)
    body["config"]["id_empresa"] = 99
    r = post(app, body)
    assert r.status_code == 200, r.text
    got = agents["cita"].last_body()
    assert got["id_empresa"] == 7 and got["config"]["id_empresa"] == 7


@pytest.mark.parametrize("stale", [None, "", 0, "abc", 99])
def test_a_null_empty_or_stale_config_company_beside_the_top_level_one_is_ignored(
    app: Any, agents: dict[str, HttpAgent], stale: object
) -> None:
    body = today_body("Quiero una cita")
    body["config"]["id_empresa"] = stale
    r = post(app, body)
    assert r.status_code == 200, r.text
    got = agents["cita"].last_body()
    assert got["id_empresa"] == COMPANY and got["config"]["id_empresa"] == COMPANY


def test_an_mcp_agent_gets_the_winning_company_in_its_config(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("cita", session_id_type="int")
    agent.reset()
    app = start_app(agents={"cita": agent.url}, LLM_MODE="offline")
    for config_id in (None, 99):
        body = today_body("Quiero agendar una cita", api_key=COMPANY_KEY)
        if config_id is not None:
            body["config"]["id_empresa"] = config_id
        r = post(app, body)
        assert (r.status_code, r.json()["agent_used"]) == (200, "cita"), r.text
        call = agent.chat_calls()[-1]
        assert call["session_id"] == SESSION and call["session_id_type"] == "int"
        assert call["context"]["config"]["id_empresa"] == COMPANY
        assert call["context"]["config"]["modalidad"] == "Citas"
        assert COMPANY_KEY not in repr(call)  # the MCP `chat` tool takes no key


def test_a_numeric_string_company_is_accepted(app: Any, agents: dict[str, HttpAgent]) -> None:
    r = post(app, today_body("Quiero una cita", id_empresa=" 7 "))
    assert r.status_code == 200, r.text
    assert agents["cita"].last_body()["id_empresa"] == 7


@pytest.mark.parametrize("value", [0, -3, "0", "-1", "siete", "7a", 7.5, True, [7], {"id": 7}])
def test_a_bad_top_level_company_is_a_400_naming_it(
    app: Any, agents: dict[str, HttpAgent], value: object
) -> None:
    body = today_body("Quiero una cita", id_empresa=value)
    body["config"]["id_empresa"] = 7  # a good one inside config does not rescue it
    r = post(app, body)
    assert (r.status_code, r.json()) == (400, {"detail": TOP_ID_EMPRESA})
    assert agents["cita"].calls == []


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_api_key_is_treated_as_absent(
    app: Any, agents: dict[str, HttpAgent], value: str
) -> None:
    r = post(app, today_body("Quiero una cita", api_key=value))
    assert r.status_code == 200, r.text
    assert agents["cita"].last_body()["api_key"] is None  # not forwarded


def test_without_a_top_level_company_the_v02_texts_are_unchanged(
    app: Any, agents: dict[str, HttpAgent]
) -> None:
    body = today_body("Quiero una cita", id_empresa=None)
    assert post(app, body).json() == {"detail": ID_EMPRESA}
    body["config"]["id_empresa"] = 7
    for name in ("rol_bot", "tipo_bot", "objetivo_principal"):
        r = post(app, body)
        assert (r.status_code, r.json()) == (
            400,
            {"detail": f"El campo 'config.{name}' es obligatorio"},
        )
        body["config"][name] = "x"
    assert post(app, body).status_code == 200
    # the other v0.2 texts, with today's body too
    assert post(app, today_body("   ")).json() == {"detail": MSG_EMPTY}
    assert post(app, today_body("hola", session_id="  ")).json() == {"detail": SESSION_EMPTY}
    v02 = chat_body("hola", "v02-1", id_empresa=0)
    assert post(app, v02).json() == {"detail": ID_EMPRESA}


def test_a_v02_body_is_answered_exactly_as_before(app: Any, agents: dict[str, HttpAgent]) -> None:
    r = post(app, chat_body("quiero agendar una cita", "v02-2", modalidad="Citas"))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["session_id"] == "v02-2" and data["agent_used"] == "cita"
    assert set(data) == {"reply", "session_id", "agent_used", "action", "url"}
    got = agents["cita"].last_body()
    assert got["id_empresa"] == 12 and got["api_key"] is None


def test_stream_with_todays_body_ends_with_url_and_the_integer_id(
    app: Any, agents: dict[str, HttpAgent]
) -> None:
    agents["cita"].state.url = BROCHURE
    events = read_events(app, today_body("Quiero una cita para el lunes", api_key=COMPANY_KEY))
    names = [name for name, _ in events]
    assert names[0] == "routing" and names[-1] == "done" and "delegating" in names
    assert events[0][1] == {"session_id": SESSION}
    done = events[-1][1]
    assert done["session_id"] == SESSION and isinstance(done["session_id"], int)
    assert (done["url"], done["agent_used"], done["action"]) == (BROCHURE, "cita", "delegate")
    assert "".join(data["text"] for name, data in events if name == "token") == done["reply"]
    assert agents["cita"].last_body()["api_key"] == COMPANY_KEY
