"""Storage faults show: a deleted SQLite file or a read-only database make /ready and turns 503."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
import pytest

from harness.orchestrator import StartApp
from harness.services import temporary_database

STORAGE_DOWN = (
    "El servicio de memoria de conversaciones no está disponible; "
    "inténtalo de nuevo en unos momentos."
)


def test_deleted_sqlite_file_is_not_ready_and_turns_are_503(
    start_app: StartApp, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "faults.sqlite"
    app = start_app(LLM_MODE="offline", CHECKPOINT_DB=str(db), STORAGE_CHECK_INTERVAL=0)
    assert app.chat("hola", "del").status_code == 200
    assert app.client.get("/ready").status_code == 200
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)
    for _ in range(3):
        ready = app.client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["detail"] == "El almacenamiento de conversaciones no responde"
    r = app.chat("hola otra vez", "del")
    assert r.status_code == 503 and r.json() == {"detail": STORAGE_DOWN}
    assert app.client.get("/health").status_code == 200
    out = capfd.readouterr().out
    assert out.count('"conversation storage cannot be written"') == 1  # logged once


def test_replaced_sqlite_file_is_not_ready(start_app: StartApp, tmp_path: Path) -> None:
    db = tmp_path / "replaced.sqlite"
    app = start_app(LLM_MODE="offline", CHECKPOINT_DB=str(db))
    assert app.chat("hola", "rep").status_code == 200
    os.replace(db, tmp_path / "moved.sqlite")
    db.write_bytes(b"")  # another file now sits at the path
    assert app.client.get("/ready").status_code == 503
    assert app.chat("hola", "rep").status_code == 503


def test_read_only_postgres_is_not_ready_then_recovers(start_app: StartApp) -> None:
    with temporary_database() as dsn:
        app = start_app(LLM_MODE="offline", DATABASE_URL=dsn, STORAGE_CHECK_INTERVAL=0)
        assert app.chat("hola", "ro").status_code == 200
        assert app.client.get("/ready").status_code == 200
        name = dsn.rsplit("/", 1)[1]
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            admin.execute(  # the pool reconnects: its new sessions are read-only
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        deadline = time.monotonic() + 10
        while app.client.get("/ready").status_code != 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert app.client.get("/ready").status_code == 503
        refused = app.chat("hola", "ro")
        assert refused.status_code == 503 and refused.json() == {"detail": STORAGE_DOWN}
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SET default_transaction_read_only = off")
            admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        deadline = time.monotonic() + 10
        while app.client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert app.client.get("/ready").status_code == 200
        assert app.chat("hola", "ro").status_code == 200
        app.stop()
