"""HTTP agents (issue 20): retried only when the agent surely did not get the turn, per-agent
timeouts, an honest /ready whose probes are reused, a default key for keyless turns, and the
clear command."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from harness.orchestrator import StartApp
from harness.procs import free_port
from tests.agents_http.conftest import FALLBACK, ProductionAgents

CITA = "quiero agendar una cita para mañana"
VENTA = "cuánto cuesta el lomo saltado?"
DEFAULT_KEY = "sk-defecto-cita-9f8e7d6c5b4a"


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The JSON log lines written since the last read."""
    out = capsys.readouterr().out
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


def retries(lines: list[dict[str, Any]], agent: str) -> list[str]:
    """The error of each retried attempt of `agent`, in order."""
    return [
        line["extra_fields"]["error"]
        for line in lines
        if line["message"] == "agent call retried" and line["extra_fields"]["agent"] == agent
    ]


@pytest.mark.parametrize("status", [502, 504, 500])
def test_a_502_504_or_500_reaches_the_agent_exactly_once(
    start_app: StartApp,
    production_agents: ProductionAgents,
    capsys: pytest.CaptureFixture[str],
    status: int,
) -> None:
    app = start_app(LLM_MODE="offline", AGENT_MAX_RETRIES=3, **production_agents.settings())
    capsys.readouterr()
    cita = production_agents.cita
    cita.state.statuses.extend([status] * 3)
    body = app.chat(CITA, f"p{status}", modalidad="Citas").json()
    assert (body["reply"], body["action"]) == (FALLBACK, "respond")
    assert cita.state.requests == 1  # a proxy saw the turn go through: never sent twice
    assert retries(log_lines(capsys), "cita") == []


def test_a_503_is_retried_and_answered(
    start_app: StartApp, production_agents: ProductionAgents, capsys: pytest.CaptureFixture[str]
) -> None:
    app = start_app(LLM_MODE="offline", AGENT_MAX_RETRIES=3, **production_agents.settings())
    capsys.readouterr()
    cita = production_agents.cita
    cita.state.statuses.extend([503, 503])
    body = app.chat(CITA, "b1", modalidad="Citas").json()
    assert (body["action"], body["agent_used"]) == ("delegate", "cita")
    assert cita.state.requests == 3
    assert retries(log_lines(capsys), "cita") == ["http_503", "http_503"]


def test_a_refused_connection_is_retried(
    start_app: StartApp, capsys: pytest.CaptureFixture[str]
) -> None:
    down = f"http://127.0.0.1:{free_port()}/api/chat"
    app = start_app(LLM_MODE="offline", AGENT_MAX_RETRIES=3, AGENT_SOPORTE_URL=down)
    capsys.readouterr()
    body = app.chat("necesito ayuda con mi equipo", "f1").json()
    assert (body["reply"], body["action"]) == (FALLBACK, "respond")
    assert retries(log_lines(capsys), "soporte") == ["ConnectError", "ConnectError"]


def test_retry_on_widens_the_rule_for_one_agent(
    start_app: StartApp, production_agents: ProductionAgents
) -> None:
    app = start_app(
        LLM_MODE="offline",
        AGENT_MAX_RETRIES=3,
        AGENT_CITA_RETRY_ON="502, timeout",
        **production_agents.settings(),
    )
    production_agents.cita.state.statuses.append(502)
    production_agents.venta.state.statuses.append(502)
    assert app.chat(CITA, "w1", modalidad="Citas").json()["agent_used"] == "cita"
    assert production_agents.cita.state.requests == 2
    assert app.chat(VENTA, "w2", modalidad="Ventas").json()["reply"] == FALLBACK
    assert production_agents.venta.state.requests == 1  # the rule of the others is unchanged
    config = app.client.get("/config").json()["agents"]
    assert config["cita"]["retry_on"] == ["502", "timeout"] and config["venta"]["retry_on"] == []


def test_each_agent_obeys_its_own_timeout(
    start_app: StartApp, production_agents: ProductionAgents
) -> None:
    app = start_app(
        LLM_MODE="offline",
        AGENT_TIMEOUT=20,
        AGENT_CITA_TIMEOUT=0.5,
        AGENT_MAX_RETRIES=3,
        **production_agents.settings(),
    )
    production_agents.cita.state.delay = 1.5
    production_agents.venta.state.delay = 1.5
    started = time.monotonic()
    assert app.chat(CITA, "t1", modalidad="Citas").json()["reply"] == FALLBACK
    assert time.monotonic() - started < 10  # its 0.5 s, far below the global 20 s
    assert production_agents.cita.state.requests == 1  # a read timeout is not retried
    # venta has no timeout of its own: the global 20 s lets its 1.5 s answer arrive
    assert app.chat(VENTA, "t2", modalidad="Ventas").json()["agent_used"] == "venta"
    config = app.client.get("/config").json()
    assert (config["agents"]["cita"]["timeout"], config["agents"]["venta"]["timeout"]) == (0.5, 20)
    assert config["agent_timeout"] == 20


def test_an_agent_timeout_above_the_turn_timeout_is_a_startup_warning(
    start_app: StartApp, production_agents: ProductionAgents, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    start_app(LLM_MODE="offline", AGENT_CITA_TIMEOUT=80, **production_agents.settings())
    warnings = [
        line["message"]
        for line in log_lines(capsys)
        if line["level"] == "WARNING" and "TURN_TIMEOUT" in line["message"]
    ]
    assert len(warnings) == 1 and warnings[0].startswith("AGENT_CITA_TIMEOUT (80 s)")


def test_ready_says_unreachable_for_a_500_health_and_ok_only_for_a_2xx(
    start_app: StartApp, production_agents: ProductionAgents
) -> None:
    down = f"http://127.0.0.1:{free_port()}/api/chat"
    settings = {**production_agents.settings(), "AGENT_APAGADO_URL": down}
    app = start_app(LLM_MODE="offline", AGENT_PROBE_INTERVAL=0, **settings)
    production_agents.cita.state.health_status = 500
    production_agents.venta.state.health_status = 502
    production_agents.reserva.state.health_status = 204
    r = app.client.get("/ready")
    assert r.status_code == 200  # an agent down never takes the service out of rotation
    assert r.json()["agents"] == {
        "cita": "unreachable",
        "venta": "unreachable",
        "citas_ventas": "ok",
        "reserva": "ok",
        "apagado": "unreachable",
    }
    production_agents.cita.state.health_status = 200
    assert app.client.get("/ready").json()["agents"]["cita"] == "ok"


def test_ready_reuses_each_agents_probe(
    start_app: StartApp, production_agents: ProductionAgents
) -> None:
    app = start_app(LLM_MODE="offline", **production_agents.settings())
    for _ in range(50):
        assert app.client.get("/ready").json()["agents"]["cita"] == "ok"
    probes = [agent.state.health_requests for agent in production_agents.all()]
    assert all(1 <= n <= 3 for n in probes), probes  # 50 /ready, a few probes per agent


def test_a_keyless_v02_turn_reaches_a_flat_agent_with_its_default_key(
    start_app: StartApp,
    production_agents: ProductionAgents,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = start_app(
        LLM_MODE="offline",
        LOG_LEVEL="DEBUG",
        AGENT_CITA_API_KEY=DEFAULT_KEY,
        **production_agents.settings(),
    )
    capsys.readouterr()
    body = app.chat(CITA, "user-abc", modalidad="Citas").json()  # v0.2: no api_key
    assert body["agent_used"] == "cita"
    assert production_agents.cita.last_json()["api_key"] == DEFAULT_KEY
    # a turn that brings the company's key sends that one
    today = {
        "message": CITA,
        "session_id": 51987654321,
        "id_empresa": 7,
        "api_key": "sk-empresa-7-abcdef",
        "config": {"nombre_bot": "Valeria", "modalidad": "Citas"},
    }
    assert app.client.post("/api/agent/chat", json=today).json()["agent_used"] == "cita"
    assert production_agents.cita.last_json()["api_key"] == "sk-empresa-7-abcdef"
    # never shown, logged or stored
    config = app.client.get("/config")
    assert DEFAULT_KEY not in config.text and config.json()["agents"]["cita"]["api_key_configured"]
    assert DEFAULT_KEY not in json.dumps(log_lines(capsys))
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("checkpoints.sqlite*"))
    assert stored and DEFAULT_KEY.encode() not in stored


def test_without_either_key_the_log_names_the_setting(
    start_app: StartApp, production_agents: ProductionAgents, capsys: pytest.CaptureFixture[str]
) -> None:
    app = start_app(LLM_MODE="offline", **production_agents.settings())
    capsys.readouterr()
    app.chat(VENTA, "k2", modalidad="Ventas")
    assert "api_key" not in production_agents.venta.last_json()
    named = [
        line["extra_fields"].get("setting")
        for line in log_lines(capsys)
        if "without an api_key" in line["message"]
    ]
    assert named == ["AGENT_VENTA_API_KEY"]


def test_clear_sends_the_clear_command_to_the_agents_the_conversation_used(
    start_app: StartApp, production_agents: ProductionAgents
) -> None:
    app = start_app(
        LLM_MODE="offline",
        AGENT_CITA_CLEAR_COMMAND="/clear",
        AGENT_VENTA_CLEAR_COMMAND="/clear",
        AGENT_CITA_API_KEY=DEFAULT_KEY,
        **production_agents.settings(),
    )
    assert app.chat(CITA, "51911122233", modalidad="Citas").json()["agent_used"] == "cita"
    cita, venta = production_agents.cita, production_agents.venta
    r = app.client.post("/memory/clear/51911122233", params={"id_empresa": 12})
    assert r.status_code == 200
    sent = cita.last_json()
    assert (sent["message"], sent["session_id"], sent["id_empresa"]) == ("/clear", 51911122233, 12)
    assert sent["api_key"] == DEFAULT_KEY
    assert venta.state.requests == 0  # not used by this conversation
    assert app.client.get("/memory/sessions/51911122233").status_code == 404


def test_a_failing_clear_command_never_blocks_the_clear(
    start_app: StartApp, production_agents: ProductionAgents, capsys: pytest.CaptureFixture[str]
) -> None:
    app = start_app(
        LLM_MODE="offline", AGENT_CITA_CLEAR_COMMAND="/clear", **production_agents.settings()
    )
    assert app.chat(CITA, "51911122244", modalidad="Citas").json()["agent_used"] == "cita"
    capsys.readouterr()
    production_agents.cita.state.statuses.extend([422] * 5)
    r = app.client.post("/memory/clear/51911122244", params={"id_empresa": 12})
    assert r.status_code == 200
    assert app.client.get("/memory/sessions/51911122244").status_code == 404
    failed = [x for x in log_lines(capsys) if x["message"] == "agent memory not cleared"]
    assert [x["extra_fields"]["error"] for x in failed] == ["http_422"]
