"""Checkpoints written before the runtime context (with bot_config in the state) still load."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from harness.orchestrator import StartApp
from server.conversations.keys import conversation_key

OLD_STATE = {
    "messages": [
        HumanMessage("hola", id="h1"),
        AIMessage("¡Hola! Soy Valeria", name="orquestador", id="a1"),
    ],
    "session_id": "old-1",
    "bot_config": {"nombre_bot": "Valeria", "id_empresa": 12, "rol_bot": "asistente"},
    "business_context": "Restaurante en Lima",
    "active_agent": None,
    # the decision as the router of that time stored it (with a key nothing reads any more)
    "decision": {
        "action": "respond",
        "agent": None,
        "reply": "¡Hola!",
        "intent": "greeting",
        "timed_out": False,
    },
    "agent_result": None,
    "reply": "¡Hola! Soy Valeria",
    "agent_used": None,
    "action": "respond",
    "turns": 1,
}


async def _write_old_checkpoint(path: Path) -> None:
    async with aiosqlite.connect(str(path)) as conn:
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = dict(OLD_STATE)
        version = saver.get_next_version(None, None)
        checkpoint["channel_versions"] = {key: version for key in OLD_STATE}
        config: RunnableConfig = {"configurable": {"thread_id": "old-1", "checkpoint_ns": ""}}
        await saver.aput(config, checkpoint, {"source": "loop", "step": 3}, {})


async def _latest_channels(path: Path) -> dict:
    async with aiosqlite.connect(str(path)) as conn:
        saver = AsyncSqliteSaver(conn)
        # stored under the bare id, taken over by the first turn of company 12's conversation
        assert await saver.aget_tuple({"configurable": {"thread_id": "old-1"}}) is None
        key = conversation_key(12, "old-1", "company")
        item = await saver.aget_tuple({"configurable": {"thread_id": key}})
        assert item is not None
        return item.checkpoint["channel_values"]


def test_an_old_checkpoint_loads_and_the_new_one_keeps_no_per_turn_data(
    start_app: StartApp, tmp_path: Path
) -> None:
    db = tmp_path / "checkpoints.sqlite"
    asyncio.run(_write_old_checkpoint(db))
    app = start_app(LLM_MODE="offline", CHECKPOINT_DB=str(db))
    r = app.chat("gracias, hasta luego", session_id="old-1")
    assert r.status_code == 200, r.text
    assert r.json()["action"] == "respond"
    assert app.client.get("/memory/stats").json()["sessions"]["old-1"] == 2
    app.stop()
    channels = asyncio.run(_latest_channels(db))
    assert channels["turns"] == 2
    assert [m.text for m in channels["messages"]][:2] == ["hola", "¡Hola! Soy Valeria"]
    # the turn wrote only conversation memory and its outputs: nothing of the client's config
    assert channels.get("decision") is None and channels.get("agent_result") is None
    assert channels.get("route_note") is None
    assert not {"bot_config", "business_context", "session_id"} & set(channels)
    assert set(channels) <= {*OLD_STATE, "url", "route_note", "turn_log"}
    assert [record["turn"] for record in channels["turn_log"]] == [2]  # the turns recorded
