"""schemathesis against the app's own OpenAPI schema: no 5xx, no response that breaks the schema."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from harness.agents import AgentFactory
from harness.procs import ServerProcess, free_port

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# examples per operation and generation mode; 10 operations x 2 modes -> a few hundred calls.
# The run's cost is bounded by these counts (derandomized), not asserted against a clock.
EXAMPLES = {"POST": 50, "GET": 12}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, chat_agent: AgentFactory
) -> Iterator[dict[str, Any]]:
    """The orchestrator as a uvicorn process with keys, a real MCP agent and the offline router."""
    tmp = tmp_path_factory.mktemp("fuzz")
    key, admin = f"chat-{uuid.uuid4().hex}", f"admin-{uuid.uuid4().hex}"
    agent = chat_agent("reserva")
    port = free_port()
    env = {
        "API_KEYS": key,
        "ADMIN_API_KEYS": admin,
        "LLM_MODE": "offline",
        "CHECKPOINT_DB": str(tmp / "c.sqlite"),
        "SESSION_TTL_SECONDS": "0",
        "MCP_RESERVA_URL": agent.url,
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
        "MCP_TIMEOUT": "5",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_PER_MINUTE": "0",
        "SESSION_RATE_LIMIT_PER_MINUTE": "0",
    }
    proc = ServerProcess.python_module(
        "uvicorn",
        "server.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        port,
        name=f"orquestador-fuzz-{port}",
        log_dir=tmp,
        env=env,
        ready_url=f"http://127.0.0.1:{port}/health",
        ready_timeout=30,
    )
    with proc:
        yield {"url": f"http://127.0.0.1:{port}", "admin": admin, "chat": key, "proc": proc}


@pytest.mark.timeout(600)  # a few hundred real HTTP calls: only a hang safety net, not a budget
def test_openapi_fuzzing_finds_no_5xx_and_no_schema_violation(server: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(server["url"] + "/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    labels = {op.label for op in operations}
    assert {
        "POST /api/agent/chat",
        "GET /config",
        "POST /memory/clear/{session_id}",
        "GET /metrics",
        "GET /health",
    } <= labels, labels
    headers = {"X-API-Key": server["admin"]}
    calls: Counter[str] = Counter()
    allowed: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            examples = EXAMPLES.get(op.method.upper(), 12)
            allowed[op.label] += examples

            @hypothesis.settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[hypothesis.Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @hypothesis.given(case=op.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                calls[op.label] += 1  # noqa: B023 - run() is called in this same iteration
                # our key, not a generated (or deliberately broken) one: fuzz what lies past auth
                case.headers = {
                    name: value
                    for name, value in (case.headers or {}).items()
                    if name.lower() not in ("x-api-key", "authorization")
                } | headers
                response = case.call_and_validate(checks=CHECKS, timeout=30)
                statuses[response.status_code] += 1

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                # nothing schema-violating to send (e.g. only a free-form string path parameter)
                assert mode is GenerationMode.NEGATIVE, op.label
            except Exception as exc:
                raise AssertionError(
                    f"{op.label} ({mode.value}): {exc}\nserver log:\n{server['proc'].log_tail(20)}"
                ) from exc
    elapsed = time.monotonic() - started
    total = sum(calls.values())
    print(
        f"schemathesis: {total} calls in {elapsed:.1f}s; by operation {dict(calls)}; "
        f"statuses {dict(statuses)}"
    )
    assert total >= 200, calls
    assert not [s for s in statuses if s >= 500], statuses
    assert 422 not in statuses
    over = {label: n for label, n in calls.items() if n > allowed[label]}
    assert not over, (over, dict(allowed))  # the work stays within the example counts


async def test_openapi_declares_what_the_security_layer_answers(tmp_path: Path) -> None:
    from tests.security.conftest import Keys, serve, settings_for

    keys = Keys(chat="c" * 20, admin="a" * 20)
    async with serve(settings_for(tmp_path, **keys.env())) as (_, client):
        doc = (await client.get("/openapi.json")).json()
    async with serve(settings_for(tmp_path / "open")) as (_, client):
        open_doc = (await client.get("/openapi.json")).json()
    assert set(doc["components"]["securitySchemes"]) == {"ApiKeyHeader", "BearerAuth"}
    assert "securitySchemes" not in open_doc.get("components", {})
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            assert "422" not in codes and "500" in codes, (method, path)
            for code in codes - {"200"}:
                ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                if (path, code) == ("/api/agent/chat", "202"):  # Prefer: respond-async
                    assert ref.endswith("/AcceptedResponse")
                    continue
                assert ref.endswith("/ErrorResponse"), (method, path, code)
            chat = path.startswith("/api/agent/chat")
            admin = path.startswith(
                ("/memory", "/config", "/metrics", "/usage", "/webhooks", "/sessions")
            )
            assert ("security" in op) == (chat or admin), (method, path)
            assert ("401" in codes) == (chat or admin), (method, path)
            assert ("403" in codes) == admin, (method, path)
            assert ("429" in codes) == chat, (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= codes, (method, path)
            if chat:
                assert "Retry-After" in op["responses"]["429"]["headers"]
                assert "security" not in open_doc["paths"][path][method]
    assert "503" in doc["paths"]["/ready"]["get"]["responses"]
    prom = doc["paths"]["/metrics/prometheus"]["get"]["responses"]["200"]["content"]
    assert list(prom) == ["text/plain"]


def _raw_request(port: int, head: bytes, body_chunks: list[bytes]) -> bytes:
    """Send a request head, then body pieces until the server answers; return what it sent."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for chunk in body_chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed while we were still sending
                break
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            try:
                piece = sock.recv(65536)
            except OSError:
                break
            if not piece:
                break
            data += piece
        return data


def test_413_over_real_http(server: dict[str, Any]) -> None:
    """Through uvicorn: a declared 1 MiB body is refused without being read; a chunked one too."""
    port = int(server["url"].rsplit(":", 1)[1])
    key = server["chat"].encode()
    head = (
        b"POST /api/agent/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + key + b"\r\n"
    )
    answer = _raw_request(port, head + b"Content-Length: 1048576\r\n\r\n", [])  # body never sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"detail"' in answer and b"demasiado grande" in answer
    piece = b"x" * 16384
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * 64 + [b"0\r\n\r\n"]
    answer = _raw_request(port, head + b"Transfer-Encoding: chunked\r\n\r\n", chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert server["proc"].alive
