"""DOUBLE_TEXTING=merge across processes: a burst split over two instances sharing PostgreSQL is
one turn; two uvicorn workers on one SQLite file answer each burst with one turn."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub
from harness.orchestrator import OrchestratorProcess
from tests.bursts.conftest import Burst
from tests.workers.conftest import WorkersApp

OFF = {"MCP_RESERVA_ENABLED": "false", "MCP_CITA_ENABLED": "false", "MCP_VENTA_ENABLED": "false"}


def _env(venta: HttpAgent, folder: Path, **extra: Any) -> dict[str, Any]:
    return {
        **OFF,
        "AGENT_VENTA_URL": venta.url,
        "AGENT_VENTA_PROTOCOL": "http",
        "CHECKPOINT_DB": str(folder / "checkpoints.sqlite"),
        "DOUBLE_TEXTING": "merge",
        "MERGE_WINDOW_SECONDS": "1.5",
        "API_KEYS": "",
        "ADMIN_API_KEYS": "",
        "REDIS_URL": "",
        "CONTEXTO_NEGOCIO_ENDPOINT": "",
        **extra,
    }


@pytest.fixture
def two_instances(
    tmp_path: Path, pg_url: str, venta: HttpAgent, openai_stub: OpenAIStub
) -> Iterator[tuple[OrchestratorProcess, OrchestratorProcess]]:
    """Two orchestrator processes on one PostgreSQL database, each with its own local files (as
    two hosts), routing with the real ChatOpenAI client against the stub."""
    from harness.openai_specs import route_json

    openai_stub.set_handler(lambda req: route_json("delegate", "venta", intent="delegate"))
    model = {"LLM_MODE": "openai", "OPENAI_MAX_RETRIES": "0", **openai_stub.env()}
    apps = []
    try:
        for name in ("a", "b"):
            folder = tmp_path / name
            folder.mkdir()
            env = _env(venta, folder, DATABASE_URL=pg_url, **model)
            apps.append(OrchestratorProcess(folder, env).start())
        yield apps[0], apps[1]
    finally:
        for app in apps:
            app.close()


def test_a_burst_split_over_two_instances_on_postgres_is_one_turn(
    two_instances: tuple[OrchestratorProcess, OrchestratorProcess],
    venta: HttpAgent,
    openai_stub: OpenAIStub,
) -> None:
    one, two = two_instances
    burst = Burst(uuid.uuid4().int % 10**9)
    for url, text in ((one.url, "hola"), (two.url, "quiero comprar"), (one.url, "unas botas")):
        burst.send(url, text)
        time.sleep(0.3)
    first, second, third = burst.wait()
    assert first.response.json()["merged_into"] == second.request_id  # type: ignore[union-attr]
    assert second.response.json()["merged_into"] == third.request_id  # type: ignore[union-attr]
    assert third.response.json()["action"] == "delegate"  # type: ignore[union-attr]
    assert [call["body"]["message"] for call in venta.calls] == ["hola\nquiero comprar\nunas botas"]
    assert openai_stub.request_count == 1
    for app in (one, two):  # both instances read the same conversation, in order
        stored = app.client.get(f"/memory/sessions/{burst.session}").json()["messages"]
        assert [m["content"] for m in stored][:3] == ["hola", "quiero comprar", "unas botas"]
    # the next burst, again split, is the next turn
    later = Burst(burst.session)
    later.send(two.url, "mejor")
    time.sleep(0.3)
    later.send(one.url, "unas sandalias")
    later.wait()
    assert [call["body"]["message"] for call in venta.calls][1:] == ["mejor\nunas sandalias"]


def test_two_workers_on_sqlite_answer_one_turn_per_burst(tmp_path: Path, venta: HttpAgent) -> None:
    env = {
        **_env(venta, tmp_path, LLM_MODE="offline"),
        "DATABASE_URL": "",
        "SESSION_TTL_SECONDS": "0",
        "RATE_LIMIT_PER_MINUTE": "0",
        "SESSION_RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "INFO",
    }
    app = WorkersApp(tmp_path, env, flag=False, workers=2).start()  # WEB_CONCURRENCY=2
    try:
        session = uuid.uuid4().int % 10**9
        bursts = [["hola", "quiero comprar", "unas botas"], ["y también", "unas medias"]]
        for texts in bursts:
            burst = Burst(session)
            for text in texts:
                burst.send(app.url, text)  # each on a new connection: any worker takes it
                time.sleep(0.3)
            answers = burst.wait()
            bodies = [s.response.json() for s in answers]  # type: ignore[union-attr]
            actions = [body.get("action", body) for body in bodies]
            assert actions == ["merged"] * (len(texts) - 1) + ["delegate"]
        assert [call["body"]["message"] for call in venta.calls] == [
            "hola\nquiero comprar\nunas botas",
            "y también\nunas medias",
        ]
        figures = httpx.get(f"{app.url}/metrics", timeout=30, trust_env=False).json()
        assert figures["workers"] == 2
        assert figures["bursts"]["bursts"] == 2 and figures["bursts"]["messages_merged"] == 3
    finally:
        app.stop()
