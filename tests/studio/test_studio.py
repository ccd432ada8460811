"""`langgraph dev` (in-memory LangGraph API) serving the server's graph from langgraph.json."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from harness import REPO_ROOT, orchestrator
from harness.agents import AgentFactory, AgentHandle
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.procs import ServerProcess, child_env, free_port
from server.studio import make_graph, open_studio_graph

GRAPH_ID = "orquestador"
OFFLINE_ENV = {  # nothing may leave the machine
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
}


def langgraph_json() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "langgraph.json").read_text())


def test_langgraph_json_names_the_server_factory() -> None:
    config = langgraph_json()
    assert config["graphs"] == {GRAPH_ID: "server.studio:make_graph"}
    assert config["dependencies"] == ["."] and config["env"] == ".env"
    module, _, name = config["graphs"][GRAPH_ID].partition(":")
    assert getattr(sys.modules[module], name) is make_graph


async def test_studio_graph_is_the_server_graph_without_a_checkpointer(tmp_path: Path) -> None:
    settings = orchestrator.orchestrator_settings(
        tmp_path, {"reserva": "http://127.0.0.1:9/mcp", "venta": "http://127.0.0.1:9/mcp"}
    )
    async with open_studio_graph(settings, execute=False) as graph:
        assert graph.checkpointer is None  # the API server brings its own
        nodes = set(graph.get_graph().nodes)
        assert {"router", "agent_reserva", "agent_venta", "responder"} <= nodes
        assert "agent_cita" not in nodes


@pytest.fixture(scope="module")
def studio_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentHandle]:
    factory = AgentFactory("chat", tmp_path_factory.mktemp("studio-agents"))
    yield factory("reserva")
    factory.stop_all()


@pytest.fixture(scope="module")
def studio(
    tmp_path_factory: pytest.TempPathFactory,
    openai_stub_server: OpenAIStub,
    studio_agent: AgentHandle,
) -> Iterator[httpx.Client]:
    """`langgraph dev` on a loopback port, model = the stub, one agent (reserva)."""
    langgraph = Path(sys.executable).with_name("langgraph")
    assert langgraph.exists(), "langgraph-cli[inmem] is not installed in the virtualenv"
    workdir = tmp_path_factory.mktemp("studio")  # its .langgraph_api/ and no stray .env
    port = free_port()
    env = {
        **OFFLINE_ENV,
        **openai_stub_server.env(),
        "OPENAI_API_KEY": "test-key",
        "LLM_MODE": "openai",
        "OPENAI_TIMEOUT": "5",
        "OPENAI_MAX_RETRIES": "0",
        "MCP_RESERVA_URL": studio_agent.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "MCP_TIMEOUT": "5",
        "LOG_LEVEL": "WARNING",
    }
    process = ServerProcess(
        [
            langgraph,
            "dev",
            "--no-browser",
            "--no-reload",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--config",
            REPO_ROOT / "langgraph.json",
        ],
        name="langgraph-dev",
        log_dir=workdir,
        env=env,
        cwd=workdir,
        ready_url=f"http://127.0.0.1:{port}/ok",
        ready_timeout=90,
    )
    with (
        process,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, trust_env=False) as client,
    ):
        yield client
    shutil.rmtree(workdir / ".langgraph_api", ignore_errors=True)


def run_turn(client: httpx.Client, thread_id: str, message: str, session_id: str) -> dict[str, Any]:
    body = {
        "assistant_id": GRAPH_ID,
        "input": {
            "messages": [{"role": "user", "content": message}],
            "session_id": session_id,
            "bot_config": orchestrator.BASE_CONFIG,
        },
    }
    response = client.post(f"/threads/{thread_id}/runs/wait", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_langgraph_dev_runs_turns_on_a_thread(
    studio: httpx.Client, openai_stub_server: OpenAIStub, studio_agent: AgentHandle
) -> None:
    openai_stub_server.reset()
    studio_agent.reset()
    assistants = studio.post("/assistants/search", json={"graph_id": GRAPH_ID}).json()
    assert [a["graph_id"] for a in assistants] == [GRAPH_ID]
    drawn = studio.get(f"/assistants/{assistants[0]['assistant_id']}/graph").json()
    assert {"router", "agent_reserva", "responder"} <= {n["id"] for n in drawn["nodes"]}

    thread = studio.post("/threads", json={}).json()["thread_id"]
    openai_stub_server.enqueue(
        route_json("delegate", "reserva"),
        route_json("respond", reply="¡De nada! Te esperamos.", intent="thanks"),
    )
    first = run_turn(studio, thread, "Quiero reservar una mesa para 4", "studio-1")
    assert first["reply"] == "[reserva] recibido: Quiero reservar una mesa para 4 (turno 1)"
    assert first["agent_used"] == "reserva" and first["action"] == "delegate"
    second = run_turn(studio, thread, "gracias", "studio-1")
    assert second["reply"] == "¡De nada! Te esperamos."
    assert second["action"] == "respond" and second["agent_used"] is None

    # the thread kept the conversation (the in-memory server's checkpointer)
    state = studio.get(f"/threads/{thread}/state").json()
    texts = [m["content"] for m in state["values"]["messages"]]
    assert texts == ["Quiero reservar una mesa para 4", first["reply"], "gracias", second["reply"]]
    assert openai_stub_server.request_count == 2  # the router called the stub model
    assert [c["message"] for c in studio_agent.chat_calls()] == ["Quiero reservar una mesa para 4"]


async def test_invalid_settings_are_an_error_not_an_exit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Studio shows the very lines the server prints before it exits with code 3."""
    bad = {"MCP_TIMEOUT": "-1", "LLM_MODE": "bogus"}
    server = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "uvicorn", "server.main:app", "--port", str(free_port())],
        env=child_env(bad),
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert server.returncode == 3, server.stderr
    monkeypatch.chdir(tmp_path)
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="MCP_TIMEOUT") as err:
        # a schema read: make_graph reads only the runtime's `execution_runtime`
        async with make_graph(cast(Any, SimpleNamespace(execution_runtime=None))):
            pass
    assert str(err.value).splitlines() == server.stderr.strip().splitlines()
    assert len(server.stderr.strip().splitlines()) == 2
