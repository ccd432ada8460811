"""Settings: defaults of the deployment guide, .env.example complete, clear start-up errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.procs import REPO_ROOT, child_env, free_port
from server.settings import Settings, SettingsError, load_settings


def test_spec_defaults() -> None:
    s = Settings(_env_file=None)
    assert (s.OPENAI_MODEL, s.OPENAI_TIMEOUT, s.AGENT_TIMEOUT, s.AGENT_MAX_RETRIES) == (
        "gpt-4o-mini",
        60,
        30,
        3,
    )
    assert s.MCP_RESERVA_URL == "http://localhost:8003/mcp"
    assert s.MCP_CITA_URL == "http://localhost:8002/mcp"
    assert s.MCP_VENTA_URL == "http://localhost:8001/mcp"
    assert (s.AGENT_CIRCUIT_BREAKER_FAILURE_THRESHOLD, s.AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT) == (
        5,
        60,
    )
    assert (s.MAX_AGENT_RESPONSE_BYTES, s.AGENT_PROBE_INTERVAL) == (1024 * 1024, 5)
    assert (s.CONTEXTO_NEGOCIO_ENDPOINT, s.CONTEXTO_NEGOCIO_TIMEOUT) == (None, 10)
    assert (s.CHECKPOINT_DB, s.MAX_HISTORY_TURNS, s.CONTEXTO_NEGOCIO_CACHE_TTL) == (
        "data/checkpoints.sqlite",
        10,
        300,
    )
    assert s.LOG_LEVEL == "INFO" and s.llm_enabled is False


def test_env_example_and_readme_name_every_setting() -> None:
    example = (REPO_ROOT / ".env.example").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    names = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert names == set(Settings.model_fields)
    for name in Settings.model_fields:
        assert f"`{name}`" in readme, name


def test_env_example_values_parse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text((REPO_ROOT / ".env.example").read_text())
    s = load_settings()
    assert s.OPENAI_API_KEY is None and s.DATABASE_URL is None and s.API_KEYS == []


def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_TIMEOUT", "abc")
    monkeypatch.setenv("DATABASE_URL", "mysql://u:secretpw@h/db")
    with pytest.raises(SettingsError) as err:
        load_settings(_env_file=None)
    text = str(err.value)
    assert "MCP_TIMEOUT" in text and "DATABASE_URL" in text and "secretpw" not in text


def test_bad_setting_stops_the_server_with_one_line_per_variable(tmp_path: Path) -> None:
    env = child_env({"MCP_TIMEOUT": "-1", "LLM_MODE": "bogus"})
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "server.main:app", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Invalid setting")]
    assert [line.split(":")[0] for line in lines] == [
        "Invalid setting LLM_MODE",
        "Invalid setting MCP_TIMEOUT",
    ]
    assert "Traceback" not in proc.stderr


def test_masked_database_url() -> None:
    s = Settings(_env_file=None, DATABASE_URL="postgresql://app:s3cret@db:5432/orq")
    assert s.masked_database_url() == "postgresql://app:***@db:5432/orq"


def test_the_mcp_names_are_aliases_of_the_agent_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    old = {
        "MCP_TIMEOUT": "12",
        "MCP_MAX_RETRIES": "4",
        "MCP_RETRY_BACKOFF": "0.5",
        "MCP_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "7",
        "MCP_CIRCUIT_BREAKER_RESET_TIMEOUT": "90",
    }
    for name, value in old.items():
        monkeypatch.setenv(name, value)
    s = load_settings(_env_file=None)
    assert (s.AGENT_TIMEOUT, s.AGENT_MAX_RETRIES, s.AGENT_RETRY_BACKOFF) == (12, 4, 0.5)
    assert (s.AGENT_CIRCUIT_BREAKER_FAILURE_THRESHOLD, s.AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT) == (
        7,
        90,
    )
    monkeypatch.setenv("AGENT_TIMEOUT", "20")  # the new name wins
    monkeypatch.setenv("AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT", "30")  # a setting, not an agent
    s = load_settings(_env_file=None)
    assert (s.AGENT_TIMEOUT, s.AGENT_CIRCUIT_BREAKER_RESET_TIMEOUT) == (20, 30)
    assert "circuit_breaker_reset" not in s.roster


def test_per_agent_options_are_checked_at_startup() -> None:
    agent = {"AGENT_CITA_URL": "http://agente-citas:8002/api/chat"}
    for name, value, message in [
        ("AGENT_CITA_TIMEOUT", "0", "AGENT_CITA_TIMEOUT must be a number of seconds > 0"),
        ("AGENT_CITA_TIMEOUT", "abc", "AGENT_CITA_TIMEOUT must be a number of seconds > 0"),
        ("AGENT_CITA_RETRY_ON", "404", "AGENT_CITA_RETRY_ON takes 5xx statuses"),
        ("AGENT_SOPORTE_TIMEOUT", "5", "AGENT_SOPORTE_URL is required"),
    ]:
        with pytest.raises(SettingsError, match=message):
            load_settings(_env_file=None, **agent, **{name: value})
    s = load_settings(
        _env_file=None, AGENT_RESERVA_TIMEOUT="12", AGENT_RESERVA_CLEAR_COMMAND="/clear"
    )
    spec = s.roster.get("reserva")  # a reference agent takes them without a URL of its own
    assert spec is not None and (spec.timeout, spec.clear_command) == (12, "/clear")
