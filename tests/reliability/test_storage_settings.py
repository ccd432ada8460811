"""Every bad storage setting stops start-up with one line naming it, exit code 3, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.procs import child_env, free_port


def start_fails(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        "LLM_MODE": "offline",
        "MCP_RESERVA_ENABLED": "false",
        "MCP_CITA_ENABLED": "false",
        "MCP_VENTA_ENABLED": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "uvicorn", "server.main:app", "--port", str(free_port())],
        env=child_env({**base, **env}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # the exit code is what the test checks
    )


def one_line(proc: subprocess.CompletedProcess[str], variable: str) -> str:
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Invalid setting")]
    assert len(lines) == 1 and lines[0].startswith(f"Invalid setting {variable}: "), proc.stderr
    return lines[0]


def test_checkpoint_db_in_a_folder_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    line = one_line(
        start_fails(tmp_path, {"CHECKPOINT_DB": "a-file/sub/c.sqlite"}), "CHECKPOINT_DB"
    )
    assert "a-file/sub" in line


@pytest.mark.parametrize("kind", ["directory", "not a database"])
def test_checkpoint_db_that_is_not_a_database(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "db"
    if kind == "directory":
        target.mkdir()
    else:
        target.write_bytes(b"this is not sqlite" * 100)
    one_line(start_fails(tmp_path, {"CHECKPOINT_DB": str(target)}), "CHECKPOINT_DB")


def test_unreachable_database_url(tmp_path: Path) -> None:
    url = f"postgresql://app:s3cret@127.0.0.1:{free_port()}/orq"
    line = one_line(start_fails(tmp_path, {"DATABASE_URL": url}), "DATABASE_URL")
    assert "s3cret" not in line and "app:***@127.0.0.1" in line


def test_database_url_naming_a_missing_database(tmp_path: Path, pg_dsn: str) -> None:
    url = pg_dsn.rsplit("/", 1)[0] + "/no_such_database_here"
    line = one_line(start_fails(tmp_path, {"DATABASE_URL": url}), "DATABASE_URL")
    assert "no_such_database_here" in line
