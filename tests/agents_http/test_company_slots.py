"""No company holds all of an agent's slots while another company waits (issue 21 item 4): a real
orchestrator and a real HTTP agent whose calls the test holds and lets go."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from graph.agents.company_slots import CompanySlots
from harness.agents import AgentFactory
from harness.asgi_thread import ThreadedASGIServer
from harness.openai_specs import route_json, text, tool_calls
from harness.openai_stub import OpenAIStub
from harness.orchestrator import RunningApp, StartApp, chat_body, model_settings


class GatedAgent:
    """A plain-HTTP agent: company 101's calls wait until the test opens the gate once per call;
    any other company's call answers at once. It records arrivals and completions in order."""

    def __init__(self) -> None:
        self.gate = threading.Semaphore(0)
        self.arrived: list[str] = []
        self.finished: list[str] = []
        self._lock = threading.Lock()

        async def chat(request: Request) -> JSONResponse:
            message = (await request.json())["message"]
            with self._lock:
                self.arrived.append(message)
            if message.startswith("A"):
                await asyncio.to_thread(self.gate.acquire)
            with self._lock:
                self.finished.append(message)
            return JSONResponse({"reply": f"listo {message}"})

        app = Starlette(
            routes=[
                Route("/api/chat", chat, methods=["POST"]),
                Route("/health", lambda _: JSONResponse({"status": "ok"})),
            ]
        )
        self.server = ThreadedASGIServer(app, name="gated-agent")


@pytest.fixture
def gated() -> Iterator[GatedAgent]:
    agent = GatedAgent()
    with agent.server:
        yield agent
    for _ in range(10):
        agent.gate.release()


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_waiting_company_gets_the_next_slot_before_the_flooding_one(
    start_app: StartApp, gated: GatedAgent
) -> None:
    app: RunningApp = start_app(
        LLM_MODE="offline",
        ROUTING_MODE="direct",
        MODALIDAD_AGENTS={"lento": "lento"},
        AGENT_LENTO_URL=f"{gated.server.url}/api/chat",
        AGENT_LENTO_PROTOCOL="http",
        AGENT_LENTO_DESCRIPTION="un agente lento",
        AGENT_MAX_CONCURRENCY=2,  # one slot per company while another waits (the default half)
        MCP_TIMEOUT=60,
        MCP_MAX_RETRIES=1,
    )
    assert app.settings.agent_slots_per_company == 1

    def send(company: int, text: str) -> httpx.Response:
        body = chat_body(text, f"{company}-{text}", id_empresa=company, modalidad="lento")
        return httpx.post(f"{app.url}/api/agent/chat", json=body, timeout=120)

    with ThreadPoolExecutor(max_workers=6) as pool:
        # company 101 takes both slots (nobody else waits) and queues two more turns
        a_turns: list[Future[httpx.Response]] = [
            pool.submit(send, 101, f"A{i}") for i in range(1, 5)
        ]
        wait_until(lambda: len(gated.arrived) == 2, "A's first two calls reach the agent")
        wait_until(lambda: app.services.agents.slots("lento").waiting == 2, "A's two others queue")
        b_turn = pool.submit(send, 202, "B1")
        wait_until(lambda: app.services.agents.slots("lento").waiting == 3, "B queues behind them")
        gated.gate.release()  # one of A's calls ends: its slot goes to company 202
        reply = b_turn.result(timeout=60)
        assert reply.status_code == 200 and reply.json()["reply"] == "listo B1", reply.text
        assert gated.arrived[2] == "B1" and gated.finished[1] == "B1", gated.arrived
        queued = [a for i, a in enumerate(a_turns, 1) if f"A{i}" not in gated.arrived[:2]]
        assert len(queued) == 2 and not any(a.done() for a in queued)  # still waiting
        for _ in range(3):
            gated.gate.release()
        assert [a.result(timeout=60).status_code for a in a_turns] == [200] * 4
    assert sorted(gated.arrived) == ["A1", "A2", "A3", "A4", "B1"]
    assert gated.finished.index("B1") < min(
        gated.finished.index(queued) for queued in set(gated.arrived[3:])
    )


def test_tool_calls_hold_a_slot_in_their_companys_name(
    start_app: StartApp, openai_stub: OpenAIStub, tool_agent: AgentFactory
) -> None:
    agent = tool_agent("reserva", delay=1.0)  # each tool call takes a second
    app = start_app(
        agents={"reserva": agent.url}, MCP_RESERVA_MODE="tools", **model_settings(openai_stub)
    )
    openai_stub.enqueue(
        route_json("delegate", "reserva"),
        tool_calls([("listar_servicios", {})], content=""),
        text("Tenemos corte de cabello y manicure."),
    )
    slots = app.services.agents.slots("reserva")
    held: list[int] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        body = chat_body("¿qué servicios tienen?", "tools-1", id_empresa=4242)
        reply = pool.submit(lambda: httpx.post(f"{app.url}/api/agent/chat", json=body, timeout=60))
        wait_until(lambda: agent.stats()["tool_calls"] != [], "the tool call reaches the agent")
        held.append(slots.held(4242))
        assert reply.result(timeout=60).status_code == 200
    assert held == [1] and slots.held(4242) == 0


# -- the slot rule, in memory -------------------------------------------------------------------
async def test_alone_a_company_may_use_every_slot_and_waiters_go_by_share() -> None:
    slots = CompanySlots(total=4, per_company=2)
    for _ in range(4):
        await slots.acquire("A")  # nobody waits: all four, at once
    assert slots.held("A") == 4 and slots.waiting == 0
    order: list[str] = []

    async def take(company: str) -> None:
        await slots.acquire(company)
        order.append(company)

    tasks = [asyncio.create_task(take(c)) for c in ("A", "A", "B", "C", "B")]
    await asyncio.sleep(0)
    assert slots.waiting == 5
    for _ in range(2):
        slots.release("A")
        await asyncio.sleep(0)
    # A still holds its share (2): B and C, queued behind A's two, are served first
    assert order == ["B", "C"]
    slots.release("A")  # A under its share too: first come first served among them
    await asyncio.sleep(0)
    assert order == ["B", "C", "A"]
    slots.release("C")  # A is back at its share: B (holding 1) goes before A's last waiter
    await asyncio.sleep(0)
    assert order == ["B", "C", "A", "B"]
    assert (slots.held("A"), slots.held("B"), slots.held("C")) == (2, 2, 0)
    slots.release("B")  # nobody else waits: A may go past its share
    await asyncio.gather(*tasks)
    assert order == ["B", "C", "A", "B", "A"] and slots.held("A") == 3


async def test_a_cancelled_wait_gives_no_slot_away() -> None:
    slots = CompanySlots(total=1)
    assert slots.per_company == 1
    await slots.acquire("A")
    waiter = asyncio.create_task(slots.acquire("B"))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert slots.waiting == 0
    slots.release("A")
    await asyncio.wait_for(slots.acquire("C"), 1)  # the slot is free, not lost
    assert slots.held("C") == 1 and slots.held("B") == 0
