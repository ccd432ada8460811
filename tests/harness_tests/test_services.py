"""Context server, PostgreSQL, Redis and subprocess helpers work for real."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from harness.context_server import ContextServer
from harness.procs import ServerProcess, free_port, port_open, wait_for_http, wait_for_port

BODY = {"codOpe": "OBTENER_CONTEXTO_NEGOCIO", "id_empresa": 7}


def test_context_server(context_server: ContextServer) -> None:
    context_server.set_context(7, "Barbería Maravia: cortes desde S/ 25.")
    r = httpx.post(context_server.url, json=BODY)
    assert r.json() == {
        "success": True,
        "contexto_negocio": "Barbería Maravia: cortes desde S/ 25.",
    }
    assert httpx.post(context_server.url, json={**BODY, "id_empresa": 8}).json()["success"] is True
    context_server.set_context(9, None)
    missing = httpx.post(context_server.url + "any/path", json={**BODY, "id_empresa": 9})
    assert missing.json()["success"] is False
    assert httpx.post(context_server.url, json={"codOpe": "OTRA"}).status_code == 400
    assert context_server.calls == 4 and context_server.calls_by_id["7"] == 1
    context_server.fail(1, status=503)
    assert httpx.post(context_server.url, json=BODY).status_code == 503
    context_server.set_delay(0.3)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(context_server.url, json=BODY, timeout=0.1)
    assert context_server.calls == 6


def test_context_server_reset_between_tests(context_server: ContextServer) -> None:
    assert context_server.calls == 0 and context_server.delay == 0


def test_pg_dsn(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
        row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None
        (name,) = row
        assert name.startswith("maravia_test_")


def test_redis_url(redis_clean: str) -> None:
    client = redis.Redis.from_url(redis_clean)
    assert client.ping() and client.dbsize() == 0
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_server_process_lifecycle(tmp_path: Path) -> None:
    port = free_port()
    proc = ServerProcess(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        name="http",
        log_dir=tmp_path,
        ready_url=f"http://127.0.0.1:{port}/",
    )
    with proc:
        wait_for_port(port)
        assert wait_for_http(f"http://127.0.0.1:{port}/").status_code == 200
    assert not proc.alive and not port_open(port)
    proc.start()
    proc.kill9()
    assert proc.returncode == -9


SILENT_FOR = 30
"""How long the silent process sleeps: far past its 0.5 s ready timeout."""


def test_server_process_errors_show_log_tail(tmp_path: Path) -> None:
    crash = ServerProcess(
        [sys.executable, "-c", "print('boom: bad config'); raise SystemExit(2)"],
        name="crash",
        log_dir=tmp_path,
        ready_url=f"http://127.0.0.1:{free_port()}/",
    )
    with pytest.raises(RuntimeError, match="(?s)exited with code 2.*boom: bad config"):
        crash.start()
    silent = ServerProcess(
        [sys.executable, "-c", f"import time; print('waiting'); time.sleep({SILENT_FOR})"],
        name="silent",
        log_dir=tmp_path,
        ready_url=f"http://127.0.0.1:{free_port()}/",
        ready_timeout=0.5,
    )
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="(?s)not ready.*waiting"):
        silent.start()
    # given up after its ready timeout (0.5 s), not after the process's own SILENT_FOR seconds
    assert not silent.alive and time.monotonic() - started < SILENT_FOR / 2
