"""Declaring agents: MCP_* aliases, built-in defaults, MCP tool names, bad AGENT_* at start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.agents import AgentFactory
from harness.orchestrator import StartApp
from harness.procs import child_env, free_port
from server.settings import Settings, SettingsError, load_settings
from tests.agents_http.conftest import FALLBACK, ProductionAgents

REFERENCE = {
    "reserva": "http://localhost:8003/mcp",
    "cita": "http://localhost:8002/mcp",
    "venta": "http://localhost:8001/mcp",
}


def roster(**values: Any) -> dict[str, tuple[str, str, bool]]:
    """name -> (url, transport, enabled) of the roster these settings declare."""
    settings = Settings(_env_file=None, **values)
    return {s.name: (s.url, s.transport, s.enabled) for s in settings.roster}


def test_the_built_in_agents_only_when_nothing_is_declared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert roster() == {name: (url, "mcp", True) for name, url in REFERENCE.items()}
    # the flags and modes of the built-in agents still apply to them
    assert roster(MCP_CITA_ENABLED=False)["cita"] == (REFERENCE["cita"], "mcp", False)
    # one declared agent, of either kind, and the roster is exactly what is declared
    assert roster(AGENT_POSTVENTA_URL="http://pv:9000/api/chat") == {
        "postventa": ("http://pv:9000/api/chat", "http", True)
    }
    assert roster(MCP_CITA_URL="http://citas:8000/mcp") == {
        "cita": ("http://citas:8000/mcp", "mcp", True)
    }
    # the aliases and AGENT_* together; AGENT_<KEY>_URL wins over MCP_<NAME>_URL
    assert roster(
        MCP_RESERVA_URL="http://old:8003/mcp",
        MCP_VENTA_URL="http://ventas:8001/mcp",
        AGENT_RESERVA_URL="http://reserva:8003/chat",
        AGENT_CITAS_VENTAS_URL="http://cv:8004/api/chat",
    ) == {
        "venta": ("http://ventas:8001/mcp", "mcp", True),
        "reserva": ("http://reserva:8003/chat", "http", True),
        "citas_ventas": ("http://cv:8004/api/chat", "http", True),
    }
    # an explicit protocol wins over the URL's path
    assert roster(AGENT_X_URL="http://x:1/mcp", AGENT_X_PROTOCOL="HTTP")["x"][1] == "http"
    assert roster(AGENT_X_URL="http://x:1/rpc", AGENT_X_PROTOCOL="mcp")["x"][1] == "mcp"


def test_agent_variables_from_the_environment_and_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "AGENT_CITA_URL=http://from-file:8002/api/chat\n"
        "AGENT_CITA_TOKEN=secreto-del-archivo\n"
        "AGENT_RESERVA_URL=http://from-file:8003/chat\n"
        "AGENT_RESERVA_BODY=context\n"
    )
    monkeypatch.setenv("AGENT_CITA_URL", "http://from-env:8002/api/chat")
    monkeypatch.setenv("MCP_VENTA_MODE", "tools")
    settings = load_settings()
    specs = {spec.name: spec for spec in settings.roster}
    assert list(specs) == ["cita", "reserva"]
    assert specs["cita"].url == "http://from-env:8002/api/chat"  # the environment wins
    assert specs["cita"].token == "secreto-del-archivo"
    assert "secreto-del-archivo" not in repr(specs["cita"])
    assert (specs["reserva"].transport, specs["reserva"].body) == ("http", "context")


def test_the_mcp_aliases_reach_an_mcp_agent_beside_an_http_one(
    start_app: StartApp, chat_agent: AgentFactory, production_agents: ProductionAgents
) -> None:
    reserva = chat_agent("reserva")
    app = start_app(
        agents={"reserva": reserva.url},  # MCP_RESERVA_URL (and MCP_CITA/VENTA_ENABLED=false)
        LLM_MODE="offline",
        AGENT_VENTA_URL=production_agents.venta.url,
    )
    assert set(app.metrics()["circuit_breakers"]) == {"reserva", "venta"}
    body = app.chat("quiero reservar una mesa para 4", "a1").json()
    assert (body["agent_used"], body["reply"]) == (
        "reserva",
        "[reserva] recibido: quiero reservar una mesa para 4 (turno 1)",
    )
    assert app.chat("¿cuánto cuesta el menú del día?", "a2").json()["agent_used"] == "venta"
    assert app.client.get("/config").json()["mcp_reserva_url"] == reserva.url


def test_an_mcp_agent_whose_tool_is_named_cita_chat(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    cita = chat_agent("cita", tool_name="cita_chat", session_id_type="int")
    app = start_app(LLM_MODE="offline", AGENT_CITA_URL=cita.url)
    body = app.chat("quiero agendar una cita", "51955500011").json()
    assert (body["action"], body["agent_used"]) == ("delegate", "cita")
    assert [call["name"] for call in cita.stats()["tool_calls"]] == ["cita_chat"]
    call = cita.chat_calls()[-1]
    assert (call["session_id"], call["session_id_type"]) == (51955500011, "int")
    agent = app.client.get("/config").json()["agents"]["cita"]
    assert (agent["protocol"], agent["mode"]) == ("mcp", "chat")


def test_agent_tool_names_the_conversational_tool(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    soporte = chat_agent("soporte", tool_name="conversar")
    app = start_app(
        LLM_MODE="offline",
        AGENT_SOPORTE_URL=soporte.url,
        AGENT_SOPORTE_TOOL="conversar",
        AGENT_SOPORTE_MODE="chat",
    )
    body = app.chat("necesito ayuda con mi pedido", "t1").json()
    assert (body["agent_used"], body["reply"]) == (
        "soporte",
        "[soporte] recibido: necesito ayuda con mi pedido (turno 1)",
    )
    assert [call["name"] for call in soporte.stats()["tool_calls"]] == ["conversar"]


def test_a_tool_the_server_does_not_have_is_a_fallback(
    start_app: StartApp, chat_agent: AgentFactory
) -> None:
    soporte = chat_agent("soporte", tool_name="conversar")
    app = start_app(LLM_MODE="offline", AGENT_SOPORTE_URL=soporte.url, AGENT_SOPORTE_TOOL="chat")
    body = app.chat("necesito ayuda con mi pedido", "t2").json()
    assert (body["action"], body["reply"]) == ("respond", FALLBACK)
    assert soporte.stats()["tool_calls"] == []


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"AGENT_CITA_URL": "http://c:1/api/chat", "AGENT_CITA_BODY": "xml"}, "AGENT_CITA_BODY"),
        ({"AGENT_CITA_URL": "ftp://c/x", "AGENT_CITA_TOKEN": "secreto-123"}, "AGENT_CITA_URL"),
        ({"AGENT_CITA_URL": "http://c:1/mcp", "AGENT_CITA_MODE": "magic"}, "AGENT_CITA_MODE"),
        ({"AGENT_CITA_URL": "http://c:1/x", "AGENT_CITA_PROTOCOL": "grpc"}, "AGENT_CITA_PROTOCOL"),
        ({"AGENT_CITA_URL": "http://c:1/x", "AGENT_CITA_ENABLED": "quizas"}, "AGENT_CITA_ENABLED"),
        ({"AGENT_CITA_TOKEN": "secreto-123"}, "AGENT_CITA_URL"),
    ],
)
def test_a_bad_agent_variable_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None)
    lines = str(err.value).splitlines()
    assert len(lines) == 1 and named in lines[0]
    assert "secreto-123" not in lines[0]


def test_a_bad_agent_variable_stops_the_server_with_exit_code_3(tmp_path: Path) -> None:
    env = child_env({"AGENT_CITA_URL": "http://127.0.0.1:9/api/chat", "AGENT_CITA_BODY": "xml"})
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "server.main:app", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == ["Invalid settings: AGENT_CITA_BODY must be one of flat, context (got 'xml')"]
