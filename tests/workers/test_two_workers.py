"""Two uvicorn workers on SQLite and PostgreSQL: no turn lost, turns in order, metrics summed."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from prometheus_client.parser import text_string_to_metric_families

from harness.agents import AgentHandle
from tests.workers.conftest import (
    StartWorkers,
    StoredMessages,
    WorkersApp,
    post_chat,
    reserva_message,
)

BACKENDS = ["sqlite", "postgres"]
TURN = re.compile(r"recibido: (?P<message>.*) \(turno (?P<turn>\d+)\)$")


@pytest.fixture(scope="module", params=BACKENDS)
def two_workers(
    request: pytest.FixtureRequest, start_workers: StartWorkers
) -> tuple[WorkersApp, StoredMessages]:
    """One two-worker app per backend for the module's tests."""
    return start_workers(request.param)


def assert_coherent(messages: list[object], sent: list[str]) -> list[str]:
    """Each stored user message is followed by the agent's answer to it, turns counted 1, 2…

    The agent numbers the calls it gets per session, so the k-th stored answer saying
    "turno k" shows that every turn ran alone and saw the history of all the earlier ones.
    Returns the user messages in stored order.
    """
    assert len(messages) == 2 * len(sent)
    stored = []
    for k in range(len(sent)):
        human, answer = messages[2 * k], messages[2 * k + 1]
        assert isinstance(human, HumanMessage) and isinstance(answer, AIMessage)
        match = TURN.search(str(answer.content))
        assert match, answer.content
        assert match["message"] == human.content and int(match["turn"]) == k + 1
        stored.append(str(human.content))
    assert sorted(stored) == sorted(sent)
    return stored


async def test_fifty_concurrent_messages_to_one_session_are_all_stored(
    two_workers: tuple[WorkersApp, StoredMessages],
) -> None:
    app, read = two_workers
    session = f"burst-{uuid.uuid4().hex[:8]}"
    sent = [reserva_message(n) for n in range(50)]
    before = app.metrics()["requests_by_worker"]
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=app.url, timeout=120, limits=limits) as client:
        answers = await asyncio.gather(*(post_chat(client, m, session) for m in sent))
        stats = (await client.get("/memory/stats")).json()
    assert [r.status_code for r in answers] == [200] * 50
    assert all(r.json()["agent_used"] == "reserva" for r in answers)
    assert stats["sessions"][session] == 50
    assert_coherent(read(session), sent)
    after = app.metrics()["requests_by_worker"]
    served = [after[w] - before.get(w, 0) for w in after]
    assert sum(served) == 50 and len(served) == 2


@pytest.fixture
def slow_reserva(reserva: AgentHandle) -> Iterator[AgentHandle]:
    """The agent answering after 0.25 s (back to no delay after the test)."""
    reserva.control(delay=0.25)
    yield reserva
    reserva.control(delay=0)


async def test_double_texting_across_workers_keeps_arrival_order(
    two_workers: tuple[WorkersApp, StoredMessages], slow_reserva: AgentHandle
) -> None:
    """Messages sent 80 ms apart while earlier ones still run (each turn takes 0.25 s, so up
    to three wait at once, in both workers) are stored in the order sent (PostgreSQL too: the
    machine's ticket queue orders the workers before the advisory lock)."""
    app, read = two_workers
    session = f"order-{uuid.uuid4().hex[:8]}"
    sent = [reserva_message(n) for n in range(10)]
    async with httpx.AsyncClient(base_url=app.url, timeout=120) as client:
        tasks = []
        for message in sent:
            tasks.append(asyncio.create_task(post_chat(client, message, session)))
            await asyncio.sleep(0.08)
        answers = await asyncio.gather(*tasks)
    assert [r.status_code for r in answers] == [200] * 10
    assert assert_coherent(read(session), sent) == sent


async def test_twenty_sessions_of_ten_turns_are_each_complete(
    two_workers: tuple[WorkersApp, StoredMessages],
) -> None:
    app, read = two_workers
    tag = uuid.uuid4().hex[:6]
    sessions = [f"s{i}-{tag}" for i in range(20)]

    async def converse(client: httpx.AsyncClient, session: str) -> list[int]:
        codes = []
        for n in range(10):
            codes.append((await post_chat(client, reserva_message(n), session)).status_code)
        return codes

    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(base_url=app.url, timeout=120, limits=limits) as client:
        codes = await asyncio.gather(*(converse(client, s) for s in sessions))
        stats = (await client.get("/memory/stats")).json()["sessions"]
    assert all(c == [200] * 10 for c in codes)
    for session in sessions:
        assert stats[session] == 10
        stored = assert_coherent(read(session), [reserva_message(n) for n in range(10)])
        assert stored == [reserva_message(n) for n in range(10)]


def _requests_total(text: str) -> float:
    for family in text_string_to_metric_families(text):
        if family.name == "orquestador_requests":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    return 0.0


async def test_metrics_count_the_turns_of_both_workers(
    two_workers: tuple[WorkersApp, StoredMessages],
) -> None:
    app, _ = two_workers
    before = app.metrics()["requests_total"]
    session = f"m-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=app.url, timeout=60) as client:
        answers = await asyncio.gather(
            *(post_chat(client, reserva_message(n), f"{session}-{n}") for n in range(30))
        )
        texts = [(await post_prom(client)) for _ in range(6)]
    assert all(r.status_code == 200 for r in answers)
    assert all(_requests_total(text) == before + 30 for text in texts)
    for _ in range(6):  # whichever worker answers, it reports the whole service
        got = app.metrics()
        assert got["workers"] == 2
        assert got["requests_total"] == before + 30
        assert got["requests_delegate"] + got["requests_respond"] + got["requests_errors"] == (
            before + 30
        )
        assert set(got["circuit_breakers"]) == {"reserva"}
        assert len(got["circuit_breakers_by_worker"]) == 2
    assert 'orquestador_circuit_breaker_state_by_worker{agent="reserva",worker=' in texts[0]


async def post_prom(client: httpx.AsyncClient) -> str:
    """GET /metrics/prometheus on a new connection."""
    return (await client.get("/metrics/prometheus", headers={"connection": "close"})).text


def _swept(app: WorkersApp) -> tuple[int, list[dict[str, object]]]:
    records = app.log_records()
    deleted = sum(
        int(r["extra_fields"]["count"])
        for r in records
        if r["message"] == "expired sessions deleted"
    )
    failures = [r for r in records if r["message"] == "session sweep failed"]
    return deleted, failures


async def test_the_sweeper_of_two_workers_deletes_each_expired_session_once(
    start_workers: StartWorkers, storage: dict[str, str]
) -> None:
    kind = "postgres" if storage else "sqlite"
    env = {"SESSION_TTL_SECONDS": 2, "SESSION_SWEEP_INTERVAL": 0.2, **storage}
    app, read = start_workers(kind, **env)
    sessions = [f"ttl-{kind}-{n}-{uuid.uuid4().hex[:6]}" for n in range(10)]
    async with httpx.AsyncClient(base_url=app.url, timeout=60) as client:
        answers = await asyncio.gather(*(post_chat(client, "hola", s) for s in sessions))
    assert all(r.status_code == 200 for r in answers)
    deadline = time.monotonic() + 30
    while _swept(app)[0] < 10 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # several more sweeps of both workers find nothing left
    deleted, failures = _swept(app)
    assert deleted == 10 and failures == []
    assert all(read(s) == [] for s in sessions)


async def test_four_workers_start_together_on_a_fresh_database(
    start_workers: StartWorkers, storage: dict[str, str]
) -> None:
    """Workers starting at once create the tables once (no start-up fails on a race)."""
    app, _ = start_workers("postgres" if storage else "sqlite", workers=4, **storage)
    assert app.metrics()["workers"] == 4
    log = app.process.log_path.read_text(errors="replace")
    assert "Application startup failed" not in log
