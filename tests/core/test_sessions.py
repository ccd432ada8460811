"""Session integrity: bursts, several instances, lock timeout, TTL, bounded storage, crashes."""

from __future__ import annotations

import concurrent.futures as cf
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from harness.agents import AgentFactory
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import (
    OrchestratorProcess,
    RunningApp,
    StartApp,
    chat_body,
    model_settings,
)
from harness.tcp_proxy import TcpProxy, tcp_proxy
from server.conversations.keys import conversation_key


def stored_user_messages(app: Any, session_id: str) -> list[str]:
    """The user messages of a session's stored conversation, in order (read via the saver)."""
    item = app.call(
        app.services.backend.saver.aget_tuple(
            {"configurable": {"thread_id": conversation_key(12, session_id, "company")}}
        )
    )
    if item is None:
        return []
    return [m.content for m in item.checkpoint["channel_values"]["messages"] if m.type == "human"]


def test_burst_of_50_messages_to_one_session(
    start_app: StartApp, storage: dict, openai_stub: OpenAIStub, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva", delay=0.01)
    app = start_app(
        agents={"reserva": agent.url},
        MAX_HISTORY_TURNS=100,
        **storage,
        **model_settings(openai_stub),
    )
    openai_stub.set_handler(lambda req: route_json("delegate", "reserva"))
    messages = [f"mensaje {i:02d}" for i in range(50)]
    with (
        httpx.Client(
            base_url=app.url, timeout=60, limits=httpx.Limits(max_connections=50)
        ) as client,
        cf.ThreadPoolExecutor(50) as pool,
    ):
        responses = list(
            pool.map(lambda m: client.post("/api/agent/chat", json=chat_body(m, "burst")), messages)
        )
    assert [r.status_code for r in responses] == [200] * 50
    replies = [r.json()["reply"] for r in responses]
    turns = sorted(int(reply.rsplit("turno ", 1)[1].rstrip(")")) for reply in replies)
    assert turns == list(range(1, 51))  # each message answered once, in a turn
    stored = stored_user_messages(app, "burst")
    assert sorted(stored) == messages  # all 50, once each
    order = [call["message"] for call in agent.chat_calls()]
    assert stored == order  # stored in the order they were handled


def test_two_instances_share_sessions_on_postgres(
    tmp_path: Path, pg_url: str, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    env = {
        "DATABASE_URL": pg_url,
        "LLM_MODE": "offline",
        "MCP_RESERVA_URL": agent.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
    }
    one = OrchestratorProcess(tmp_path, env).start()
    two = OrchestratorProcess(tmp_path, env).start()
    try:

        def conversation(session: str) -> list[int]:
            codes = []
            for turn in range(10):
                target = one if turn % 2 == 0 else two  # turns alternate instances
                codes.append(target.chat(f"quiero reservar mesa {turn}", session).status_code)
            return codes

        with cf.ThreadPoolExecutor(20) as pool:
            results = list(pool.map(conversation, [f"multi-{i}" for i in range(20)]))
        assert all(codes == [200] * 10 for codes in results)
        stats = one.client.get("/memory/stats").json()
        assert {f"multi-{i}": 10 for i in range(20)}.items() <= stats["sessions"].items()
        memory: dict[str, list[str]] = {}
        for call in agent.chat_calls():
            memory.setdefault(call["session_id"], []).append(call["message"])
        assert all(
            memory[f"multi-{i}"] == [f"quiero reservar mesa {t}" for t in range(10)]
            for i in range(20)
        )
    finally:
        one.close()
        two.close()


def test_lock_timeout_is_409_and_writes_nothing(
    start_app: StartApp, storage: dict, chat_agent: AgentFactory
) -> None:
    """A follow-up waits for the turn before it (the deadline ends that turn before the lock
    wait does); only a message queued behind two turns can outwait SESSION_LOCK_TIMEOUT."""
    # the first follow-up waits ~TURN_TIMEOUT - 0.2 s < SESSION_LOCK_TIMEOUT (0.7 s to spare on
    # a loaded machine); the second ~2 x TURN_TIMEOUT - 0.2 s > SESSION_LOCK_TIMEOUT (load only
    # makes it longer)
    agent = chat_agent("reserva", delay=3.0)
    app = start_app(
        agents={"reserva": agent.url},
        LLM_MODE="offline",
        SESSION_LOCK_TIMEOUT=1.5,
        TURN_TIMEOUT=1.0,
        **storage,
    )
    with cf.ThreadPoolExecutor(3) as pool:
        slow = pool.submit(app.chat, "quiero reservar una mesa", "busy")
        time.sleep(0.2)
        followups = [pool.submit(app.chat, text, "busy") for text in ("para mañana", "a las 8")]
        assert slow.result().status_code == 200
        answers = [f.result() for f in followups]
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409], [r.text for r in answers]
    blocked = next(r for r in answers if r.status_code == 409)
    assert "ocupada" in blocked.json()["detail"]
    answered = next(
        text
        for text, r in zip(("para mañana", "a las 8"), answers, strict=True)
        if r.status_code == 200
    )
    assert stored_user_messages(app, "busy") == ["quiero reservar una mesa", answered]


def test_ttl_expires_idle_sessions_and_keeps_active_ones(
    start_app: StartApp, storage: dict
) -> None:
    app = start_app(
        LLM_MODE="offline", SESSION_TTL_SECONDS=1, SESSION_SWEEP_INTERVAL=0.3, **storage
    )
    app.chat("hola", "idle")
    app.chat("hola", "idle")
    for _ in range(6):  # ~1.8 s of activity on "active"
        app.chat("hola", "active")
        time.sleep(0.3)
    sessions = app.client.get("/memory/stats").json()["sessions"]
    assert "idle" not in sessions and sessions["active"] == 6
    assert (
        app.call(app.services.backend.ops.latest_id(conversation_key(12, "idle", "company")))
        is None
    )  # swept from storage
    app.chat("hola", "idle")
    assert app.client.get("/memory/stats").json()["sessions"]["idle"] == 1  # starts fresh


def test_expired_session_starts_fresh_even_before_the_sweep(
    start_app: StartApp, storage: dict
) -> None:
    app = start_app(
        LLM_MODE="offline", SESSION_TTL_SECONDS=1, SESSION_SWEEP_INTERVAL=3600, **storage
    )
    app.chat("hola", "late")
    time.sleep(1.2)
    assert "late" not in app.client.get("/memory/stats").json()["sessions"]
    app.chat("hola", "late")
    assert app.client.get("/memory/stats").json()["sessions"]["late"] == 1


def test_storage_does_not_grow_with_turns(
    start_app: StartApp, storage: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    app = start_app(LLM_MODE="offline", **storage)
    sizes = {}
    for turn in range(1, 201):
        assert app.chat(f"hola, mensaje {turn}", "grow").status_code == 200
        if turn in (20, 200):
            sizes[turn] = app.call(
                app.services.backend.ops.thread_bytes(conversation_key(12, "grow", "company"))
            )
    backend = app.services.backend.kind
    with capsys.disabled():
        print(
            f"\n[storage] {backend}: 20 turns = {sizes[20][0]} B, "
            f"200 turns = {sizes[200][0]} B, rows = {sizes[200][1]}"
        )
    assert sizes[200][1] == 1
    assert sizes[200][0] <= 1.5 * sizes[20][0]


def test_kill_9_mid_turn_leaves_the_session_readable(
    tmp_path: Path, storage: dict, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva", fresh=True)
    env = {
        "CHECKPOINT_DB": str(tmp_path / "crash.sqlite"),
        "LLM_MODE": "offline",
        "MCP_RESERVA_URL": agent.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        **storage,
    }
    first = OrchestratorProcess(tmp_path, env).start()
    try:
        assert first.chat("hola", "crash").status_code == 200
        assert first.chat("quiero reservar una mesa", "crash").status_code == 200
        agent.control(delay=10)
        with cf.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(first.chat, "para mañana a las 5", "crash")
            deadline = time.monotonic() + 10
            while agent.stats()["in_flight"] == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            first.process.kill9()
            with pytest.raises(httpx.HTTPError):
                pending.result()
    finally:
        first.close()
    agent.control(delay=0)
    second = OrchestratorProcess(tmp_path, env).start()
    try:
        stats = second.client.get("/memory/stats").json()
        assert stats["sessions"]["crash"] == 2  # the killed turn is not stored
        r = second.chat("para mañana a las 5", "crash")
        assert r.status_code == 200 and r.json()["action"] == "delegate"
        assert second.client.get("/memory/stats").json()["sessions"]["crash"] == 3
    finally:
        second.close()
    agent.stop()


def test_postgres_restart_gives_503_then_recovers(
    start_app: StartApp, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL goes away (every connection dropped, new ones refused) and comes back: a TCP
    proxy in front of the real server, so other tests' databases are never touched."""
    url = urlsplit(pg_url)
    with tcp_proxy(url.hostname or "127.0.0.1", url.port or 5432) as proxy:
        proxied = urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}"))
        app = start_app(
            LLM_MODE="offline", DATABASE_URL=proxied, SESSION_LOCK_TIMEOUT=3, TURN_TIMEOUT=2.5
        )
        assert app.chat("hola", "pg").status_code == 200
        _check_outage_and_recovery(app, proxy, capsys)


def _check_outage_and_recovery(
    app: RunningApp, proxy: TcpProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        proxy.cut()
        down = app.chat("hola", "pg")
        assert down.status_code == 503
        assert "no está disponible" in down.json()["detail"]
        assert app.client.get("/ready").status_code == 503
        assert app.client.get("/health").status_code == 200
    finally:
        proxy.restore()
    started = time.monotonic()
    while time.monotonic() - started < 30:
        if app.chat("hola", "pg").status_code == 200:
            break
        time.sleep(0.2)
    recovery = time.monotonic() - started
    with capsys.disabled():
        print(f"\n[postgres] recovered {recovery:.2f} s after the server was back")
    assert app.chat("hola", "pg").status_code == 200
    assert app.client.get("/ready").status_code == 200
    assert app.client.get("/memory/stats").json()["sessions"]["pg"] >= 2
