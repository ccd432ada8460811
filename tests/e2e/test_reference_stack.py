"""End to end over HTTP with the reference agents: offline with no key, and tool-server mode."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.openai_specs import route_json, text, tool_calls
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings
from harness.procs import ServerProcess, free_port

AGENTS = ("reserva", "cita", "venta")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    """The three reference agents as real processes on free ports, each with its own SQLite."""
    root = tmp_path_factory.mktemp("reference")
    started: dict[str, dict[str, Any]] = {}
    for name in AGENTS:
        port = free_port()
        db = root / f"{name}.sqlite"
        proc = ServerProcess.python_module(
            f"mcp_agents.{name}",
            "--port",
            port,
            "--db",
            db,
            name=f"ref-{name}",
            log_dir=root,
            ready_url=f"http://127.0.0.1:{port}/health",
        )
        started[name] = {"proc": proc.spawn(), "url": f"http://127.0.0.1:{port}/mcp", "db": db}
    for entry in started.values():
        entry["proc"].wait_ready()
    yield started
    for entry in started.values():
        entry["proc"].stop()


def test_offline_conversation_with_no_key(start_app: StartApp, reference: dict[str, dict]) -> None:
    app = start_app(agents={name: reference[name]["url"] for name in AGENTS})
    assert app.client.get("/config").json()["llm_mode"] == "offline"
    esc = {"temas_esc": "reclamos, hablar con una persona", "frase_esc": "Te paso con Rosa."}

    def turn(message: str) -> dict:
        r = app.chat(message, session_id="51900011122", **esc)
        assert r.status_code == 200, r.text
        return r.json()

    assert turn("Hola!! 😊") == {
        "reply": "¡Hola! Soy Valeria, ¿en qué te ayudo?",
        "session_id": "51900011122",
        "agent_used": None,
        "action": "respond",
        "url": None,
    }
    booking = turn("quiero reservar una mesa para 4 personas")
    assert booking["action"] == "delegate" and booking["agent_used"] == "reserva"
    follow = turn("para mañana a las 5")
    assert follow["agent_used"] == "reserva"
    assert "17:00" in follow["reply"] or "5" in follow["reply"]
    price = turn("y cuánto cuesta el café americano?")
    assert price["agent_used"] == "venta" and "S/" in price["reply"]
    human = turn("quiero hablar con una persona")
    assert human == {
        "reply": "Te paso con Rosa.",
        "session_id": "51900011122",
        "agent_used": None,
        "action": "respond",
        "url": None,
    }
    bye = turn("gracias, eso es todo")
    assert bye["reply"] == "¡Gracias por escribirnos! Que tengas un buen día."


def _next_saturday() -> str:
    day = dt.date.today() + dt.timedelta(days=7)
    while day.weekday() != 5:
        day += dt.timedelta(days=1)
    return day.isoformat()


def test_tool_server_mode_books_through_the_model(
    start_app: StartApp, openai_stub: OpenAIStub, reference: dict[str, dict]
) -> None:
    app = start_app(
        agents={"reserva": reference["reserva"]["url"]},
        MCP_RESERVA_MODE="tools",
        **model_settings(openai_stub),
    )
    fecha = _next_saturday()
    args = {
        "servicio": "Mesa para 4",
        "fecha": fecha,
        "hora": "20:00",
        "nombre_cliente": "Lucía Quispe",
        "personas": 4,
    }
    openai_stub.enqueue(
        route_json("delegate", "reserva"),
        tool_calls([("consultar_disponibilidad", {"fecha": fecha, "servicio": "Mesa para 4"})]),
        tool_calls([("crear_reserva", args)]),
        text("¡Listo, Lucía! Tu mesa quedó reservada."),
    )
    r = app.chat(
        f"Reserva una mesa para 4 el {fecha} a las 20:00 a nombre de Lucía Quispe",
        session_id="tools-1",
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "reply": "¡Listo, Lucía! Tu mesa quedó reservada.",
        "session_id": "tools-1",
        "agent_used": "reserva",
        "action": "delegate",
        "url": None,
    }
    offered = openai_stub.tool_names(1)
    assert {"crear_reserva", "consultar_disponibilidad", "listar_servicios"} <= set(offered)
    assert "chat" not in offered
    agent_prompt = openai_stub.messages(1)[0]["content"]
    assert "Valeria" in agent_prompt  # bot config in the prompt
    tool_results = [m["content"] for m in openai_stub.messages(3) if m["role"] == "tool"]
    assert any("codigo" in str(content).lower() for content in tool_results)
    with sqlite3.connect(Path(reference["reserva"]["db"])) as db:
        rows = db.execute(
            "SELECT fecha, hora, nombre_cliente FROM reservas WHERE nombre_cliente = 'Lucía Quispe'"
        ).fetchall()
    assert rows == [(fecha, "20:00", "Lucía Quispe")]


def test_tool_errors_reach_the_model_not_the_user(
    start_app: StartApp, openai_stub: OpenAIStub, reference: dict[str, dict]
) -> None:
    app = start_app(
        agents={"reserva": reference["reserva"]["url"]},
        MCP_RESERVA_MODE="tools",
        **model_settings(openai_stub),
    )
    openai_stub.enqueue(
        route_json("delegate", "reserva"),
        tool_calls(
            [
                (
                    "crear_reserva",
                    {
                        "servicio": "Helicóptero",
                        "fecha": "2020-01-01",
                        "hora": "20:00",
                        "nombre_cliente": "X",
                    },
                )
            ]
        ),
        text("No encontré ese servicio, ¿quieres ver la lista?"),
    )
    body = app.chat("reserva un helicóptero", session_id="tools-2").json()
    assert body["reply"] == "No encontré ese servicio, ¿quieres ver la lista?"
    tool_msgs = [m for m in openai_stub.messages(2) if m["role"] == "tool"]
    assert tool_msgs and "servicio" in str(tool_msgs[0]["content"]).lower()
    assert app.metrics()["circuit_breakers"]["reserva"]["failure_count"] == 0
