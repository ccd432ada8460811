"""Usage adds up under `uvicorn` with WEB_CONCURRENCY=2: both workers upsert the same rows."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from harness.openai_stub import OpenAIStub, route_json
from harness.orchestrator import chat_body
from harness.procs import ServerProcess, free_port

PRICES = {"gpt-4o-mini": {"input": 0.15, "output": 0.60}}


def start_two_workers(
    tmp_path: Path, stub: OpenAIStub, storage: dict[str, Any]
) -> tuple[ServerProcess, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "WEB_CONCURRENCY": "2",
        "CHECKPOINT_DB": str(tmp_path / "checkpoints.sqlite"),
        "LOG_LEVEL": "WARNING",
        "SESSION_TTL_SECONDS": "0",
        "RATE_LIMIT_PER_MINUTE": "0",
        "SESSION_RATE_LIMIT_PER_MINUTE": "0",
        "MCP_RESERVA_ENABLED": "false",
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "LLM_MODE": "openai",
        "OPENAI_MAX_RETRIES": "0",
        "MODEL_PRICES": json.dumps(PRICES),
        **stub.env(),
        **{k: str(v) for k, v in storage.items()},
    }
    process = ServerProcess.python_module(
        "uvicorn", "server.main:app", "--host", "127.0.0.1", "--port", port,
        name=f"usage-workers-{port}", log_dir=tmp_path, env=env,
        ready_url=f"{url}/health", ready_timeout=60,
    )  # fmt: skip
    process.start()
    return process, url


def test_usage_adds_up_across_two_workers(
    tmp_path: Path, openai_stub: OpenAIStub, storage: dict[str, Any]
) -> None:
    openai_stub.set_handler(lambda req: route_json("respond", reply="hola"))
    process, url = start_two_workers(tmp_path, openai_stub, storage)
    try:

        def turn(i: int) -> int:
            body = chat_body(f"mensaje número {i}", f"w-{i}", id_empresa=801 + i % 2)
            with httpx.Client(base_url=url, timeout=60, trust_env=False) as client:
                return client.post("/api/agent/chat", json=body).status_code

        sent = 0
        by_worker: dict[str, int] = {}
        while sent < 40 and (sent < 12 or len([n for n in by_worker.values() if n]) < 2):
            with ThreadPoolExecutor(6) as pool:
                assert set(pool.map(turn, range(sent, sent + 6))) == {200}
            sent += 6
            by_worker = httpx.get(f"{url}/metrics", timeout=30, trust_env=False).json()[
                "requests_by_worker"
            ]
        assert len([n for n in by_worker.values() if n]) == 2, by_worker  # both served turns
        report = httpx.get(f"{url}/usage", timeout=30, trust_env=False).json()
    finally:
        process.stop(timeout=15)
    usages = openai_stub.usages
    assert len(usages) == sent
    assert report["totals"]["turns"] == sent
    assert report["totals"]["input_tokens"] == sum(u["prompt_tokens"] for u in usages)
    assert report["totals"]["output_tokens"] == sum(u["completion_tokens"] for u in usages)
    companies = {c["id_empresa"]: c["turns"] for c in report["companies"]}
    assert companies == {801: sent // 2, 802: sent // 2}
