"""The test MCP agents answer the real langchain_mcp_adapters client and obey their controls."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.tools import BaseTool, ToolException
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools

from harness.agents import AgentFactory, AgentHandle


def _text(result: str | list[dict[str, Any]]) -> str:
    """Join the text blocks langchain_mcp_adapters returns."""
    if isinstance(result, str):
        return result
    return "".join(b["text"] for b in result if b.get("type") == "text")


async def _call(
    agent: AgentHandle, *calls: dict, handle_tool_errors: bool = False, timeout: float = 3.0
) -> list[object]:
    """Open one session, load the tools once, run the chat calls in order (exceptions returned)."""
    client = MultiServerMCPClient({agent.name: agent.connection()})
    out: list[object] = []
    async with client.session(agent.name) as session:
        loaded = await load_mcp_tools(session, handle_tool_errors=handle_tool_errors)
        tools = {t.name: t for t in loaded}
        for args in calls:
            try:
                async with asyncio.timeout(timeout):
                    out.append(_text(await tools["chat"].ainvoke(args)))
            except (ToolException, TimeoutError) as e:
                out.append(e)
    return out


@pytest.fixture(scope="module")
def reserva(chat_agent: AgentFactory) -> AgentHandle:
    return chat_agent("reserva")


async def test_chat_answers_and_counts(reserva: AgentHandle, chat_agent: AgentFactory) -> None:
    assert chat_agent("reserva") is reserva  # reused and reset
    ctx = {"session_id": "s1", "config": {"nombre_bot": "Mara"}}
    out = await _call(
        reserva,
        {"message": "hola", "session_id": "s1", "context": ctx},
        {"message": "quiero reservar", "session_id": "s1", "context": ctx},
        {"message": "otra", "session_id": "s2", "context": {}},
    )
    assert out == [
        "[reserva] recibido: hola (turno 1)",
        "[reserva] recibido: quiero reservar (turno 2)",
        "[reserva] recibido: otra (turno 1)",
    ]
    stats = reserva.stats()
    assert stats["rpc"] == {
        "initialize": 1,
        "notifications/initialized": 1,
        "tools/list": 1,
        "tools/call": 3,
    }
    assert stats["requests"]["POST /mcp"] >= 5 and stats["sessions"] == {"s1": 2, "s2": 1}
    assert stats["chat_calls"][0] == {
        "message": "hola",
        "session_id": "s1",
        "context": ctx,
        "session_id_type": "str",
    }
    reserva.reset()
    assert reserva.stats()["total_requests"] == 0 and reserva.stats()["sessions"] == {}


async def test_fault_controls(reserva: AgentHandle) -> None:
    assert reserva.control(fail_next=1, error_result_next=1, hang_next=1)["hang_next"] == 1
    calls = ({"message": f"m{i}", "session_id": "s"} for i in range(4))
    out = await _call(reserva, *calls, timeout=0.5)
    assert isinstance(out[0], ToolException) and "fallo simulado" in str(out[0])
    assert isinstance(out[1], ToolException) and "error simulado" in str(out[1])
    assert isinstance(out[2], TimeoutError)
    assert out[3] == "[reserva] recibido: m3 (turno 1)"
    assert reserva.stats()["control"]["fail_next"] == 0


async def test_errors_become_text_with_default_handling(reserva: AgentHandle) -> None:
    reserva.control(fail_next=1, delay=0.2)
    out = await _call(reserva, {"message": "x", "session_id": "s"}, handle_tool_errors=True)
    assert "fallo simulado" in str(out[0])


async def test_int_session_id_schema_and_fail_first(chat_agent: AgentFactory) -> None:
    cita = chat_agent("cita", session_id_type="int", fail_first=1)
    client = MultiServerMCPClient({"cita": cita.connection()})
    async with client.session("cita") as session:
        (chat,) = await load_mcp_tools(session, handle_tool_errors=False)
    assert isinstance(chat, BaseTool)
    assert isinstance(chat.args_schema, dict)
    assert chat.args_schema["properties"]["session_id"]["type"] == "integer"
    phone = 51987654321
    out = await _call(
        cita,
        {"message": "a", "session_id": phone},
        {"message": "b", "session_id": phone},
        {"message": "c", "session_id": "abc"},
    )
    assert isinstance(out[0], ToolException)
    assert out[1] == "[cita] recibido: b (turno 1)"
    assert isinstance(out[2], ToolException) and "session_id" in str(out[2])
    assert cita.chat_calls()[1]["session_id_type"] == "int"


async def test_kill_restart_and_exit_mid_call(chat_agent: AgentFactory) -> None:
    venta = chat_agent("venta", fresh=True)
    first = await _call(venta, {"message": "a", "session_id": "s"})
    assert first == ["[venta] recibido: a (turno 1)"]
    venta.control(exit_next=1)
    with pytest.raises(BaseException):  # noqa: B017 - closed stream, HTTP error or our timeout
        async with asyncio.timeout(1):
            await _call(venta, {"message": "b", "session_id": "s"})
    assert venta.process.proc is not None
    venta.process.proc.wait(5)
    assert not venta.alive
    assert venta not in chat_agent._cache.values()  # fresh handles are private to the caller
    venta.restart()
    again = await _call(venta, {"message": "c", "session_id": "s"})
    assert again == ["[venta] recibido: c (turno 1)"]  # memory is gone after a restart
    venta.kill9()
    assert not venta.alive


async def test_tool_agent(tool_agent: AgentFactory) -> None:
    agent = tool_agent("reserva")
    client = MultiServerMCPClient({"reserva": agent.connection()})
    async with client.session("reserva") as session:
        tools = {t.name: t for t in await load_mcp_tools(session)}
        assert set(tools) == {"listar_servicios", "crear_reserva"}
        assert "Manicure" in _text(await tools["listar_servicios"].ainvoke({}))
        args = {
            "servicio": "Manicure",
            "fecha": "2025-06-01",
            "hora": "10:00",
            "nombre_cliente": "Ana",
        }
        assert "Código R-0001" in _text(await tools["crear_reserva"].ainvoke(args))
    assert agent.stats()["tool_calls"] == [
        {"name": "listar_servicios", "arguments": {}},
        {"name": "crear_reserva", "arguments": args},
    ]
