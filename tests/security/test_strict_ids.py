"""Ids are ASCII digits in 1 … 2^63−1 (what agents' 64-bit fields and PostgreSQL hold): anything
else is the Spanish 400 naming the field; /memory answers 400 for an id with NUL everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.http_agent import HttpAgent
from harness.orchestrator import RunningApp, StartApp, chat_body
from server.schemas import ID_EMPRESA, SESSION_INT, TOP_ID_EMPRESA
from tests.n8n.helpers import SESSION, agent_env, post, today_body

MAX_ID = 2**63 - 1
NOT_IDS = ["٣", "０３", "३", 2**70, str(2**70), 2**63, 0, -3, "-3", "3.5", "0x10", "1e3", True]


@pytest.fixture(scope="module")
def cita_agent() -> Iterator[HttpAgent]:
    with HttpAgent("cita", "flat") as agent:
        yield agent


@pytest.fixture
def app(start_app: StartApp, cita_agent: HttpAgent) -> RunningApp:
    cita_agent.state.reset()
    return start_app(**agent_env({"cita": cita_agent}), LLM_MODE="offline", ROUTING_MODE="direct")


@pytest.mark.parametrize("value", NOT_IDS, ids=repr)
def test_a_top_level_id_empresa_that_is_not_an_id_is_400(app: RunningApp, value: Any) -> None:
    r = post(app, today_body("Quiero una cita", id_empresa=value))
    assert (r.status_code, r.json()) == (400, {"detail": TOP_ID_EMPRESA})


@pytest.mark.parametrize("value", ["٣", "０３", 2**70, 0])
def test_a_config_id_empresa_that_is_not_an_id_is_400(app: RunningApp, value: Any) -> None:
    body = chat_body("Quiero una cita", "v02", id_empresa=value, modalidad="Citas")
    r = app.client.post("/api/agent/chat", json=body)
    assert (r.status_code, r.json()) == (400, {"detail": ID_EMPRESA})


@pytest.mark.parametrize("value", [MAX_ID, str(MAX_ID), " 7 ", "03", 7.0])
def test_ascii_ids_up_to_2_63_minus_1_reach_the_agent(
    app: RunningApp, cita_agent: HttpAgent, value: Any
) -> None:
    r = post(app, today_body("Quiero una cita", id_empresa=value))
    assert r.status_code == 200, r.text
    assert cita_agent.last_json()["id_empresa"] == int(str(value).strip().removesuffix(".0"))


@pytest.mark.parametrize("value", [2**70, 2**63, 0, -51987654321])
def test_an_integer_session_id_out_of_range_is_400(app: RunningApp, value: int) -> None:
    r = post(app, today_body("Quiero una cita", session_id=value))
    assert (r.status_code, r.json()) == (400, {"detail": SESSION_INT})
    assert "session_id" in SESSION_INT


def test_the_largest_integer_session_id_is_one_conversation(
    app: RunningApp, cita_agent: HttpAgent
) -> None:
    r = post(app, today_body("Quiero una cita", session_id=MAX_ID))
    assert r.status_code == 200 and r.json()["session_id"] == MAX_ID
    assert cita_agent.last_json()["session_id"] == MAX_ID
    assert (
        post(app, today_body("Otra", session_id=str(MAX_ID))).json()["reply"].endswith("(turno 2)")
    )


def test_memory_ids_with_nul_are_400_on_every_backend(
    start_app: StartApp, storage: dict[str, Any], cita_agent: HttpAgent
) -> None:
    app = start_app(
        **storage, **agent_env({"cita": cita_agent}), LLM_MODE="offline", ROUTING_MODE="direct"
    )
    assert post(app, today_body("Quiero una cita", SESSION)).status_code == 200
    detail = {"detail": "El campo 'session_id' contiene caracteres no válidos"}
    for method, path in (
        ("GET", "/memory/sessions/a%00b"),
        ("POST", "/memory/clear/a%00b"),
        ("GET", "/memory/sessions/%00"),
    ):
        r = app.client.request(method, path)
        assert (r.status_code, r.json()) == (400, detail), (method, path, r.text)
    assert app.client.get(f"/memory/sessions/{SESSION}").status_code == 200  # still there
    assert app.client.get("/memory/sessions/no-such-session").status_code == 404
