"""The bare baseline: a FastAPI handler making the orchestrator's two stub calls; no graph or saver.

One ChatOpenAI structured-output call (RouteDecision, the router's prompt) and, when it says
delegate, one MCP `chat` call over a ClientSession held open for the app's lifetime.
Run: OPENAI_BASE_URL=... OPENAI_API_KEY=... MCP_RESERVA_URL=... uvicorn bench.baseline_app:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_openai import ChatOpenAI
from mcp.types import TextContent
from pydantic import BaseModel

from graph.agents.roster import AgentSpec
from graph.bot_config import BotConfig
from graph.decision import RouteDecision
from graph.prompts import context_block, router_system

AGENT = "reserva"


class ChatIn(BaseModel):
    """The chat request's three fields (config kept as a plain dict)."""

    message: str
    session_id: str | int
    config: dict[str, Any]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    model = ChatOpenAI(
        model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        api_key=os.environ["OPENAI_API_KEY"],
        base_url=os.environ["OPENAI_BASE_URL"],
        timeout=60,
        max_retries=1,
        temperature=0,
    )
    client = MultiServerMCPClient(
        {AGENT: {"transport": "streamable_http", "url": os.environ["MCP_RESERVA_URL"]}}
    )
    async with AsyncExitStack() as stack:
        app.state.structured = model.with_structured_output(RouteDecision)
        app.state.session = await stack.enter_async_context(client.session(AGENT))
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "service": "baseline"}


@app.post("/api/agent/chat")
async def chat(body: ChatIn, request: Request) -> dict[str, Any]:
    state = request.app.state
    session_id = str(body.session_id)
    prompt = [
        SystemMessage(
            router_system(BotConfig.from_mapping(body.config), [AgentSpec(AGENT, url="")], None)
        ),
        HumanMessage(context_block(None)),
        HumanMessage(body.message),
    ]
    decision = await state.structured.ainvoke(prompt)
    if decision.action != "delegate":
        return {
            "reply": decision.reply or "",
            "session_id": session_id,
            "agent_used": None,
            "action": "respond",
        }
    result = await state.session.call_tool(
        "chat",
        {
            "message": body.message,
            "session_id": session_id,
            "context": {"session_id": session_id, "config": body.config},
        },
    )
    reply = "\n".join(b.text for b in result.content if isinstance(b, TextContent))
    return {"reply": reply, "session_id": session_id, "agent_used": AGENT, "action": "delegate"}
