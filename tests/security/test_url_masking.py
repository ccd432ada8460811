"""One masking rule for every URL-valued setting wherever it is shown or logged: the userinfo
password and secret-looking query values (password, pass, pwd, token, key, secret, sig) are ***
in /config, in start-up refusals (stderr and the JSON log) and in log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.url_mask import mask_url, mask_urls_in
from harness.http_agent import HttpAgent
from harness.orchestrator import StartApp, orchestrator_settings
from harness.procs import free_port
from server.observability.logging_config import OrchestratorJsonFormatter
from server.security.secrets import secret_values
from tests.n8n.helpers import SESSION, post, today_body
from tests.reliability.test_storage_settings import start_fails

SECRETS = ("dbq-s3cret", "agent-pw-77", "model-pw-88", "model-key-99", "ctx-token-55", "mcp-tok-66")


@pytest.fixture(scope="module")
def cita_agent() -> Iterator[HttpAgent]:
    with HttpAgent("cita", "flat") as agent:
        yield agent


def with_userinfo(url: str, userinfo: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{userinfo}@{rest}"


def test_config_masks_every_url_setting(
    start_app: StartApp, pg_url: str, cita_agent: HttpAgent
) -> None:
    cita_agent.state.reset()
    closed = free_port()
    app = start_app(
        DATABASE_URL=f"{pg_url}&password=dbq-s3cret",  # trust auth: the password is not needed
        AGENT_CITA_URL=with_userinfo(cita_agent.url, "agente:agent-pw-77"),
        MCP_RESERVA_URL=f"http://127.0.0.1:{closed}/mcp?token=mcp-tok-66&x=1",
        MCP_RESERVA_ENABLED=False,
        OPENAI_BASE_URL=f"http://modelo:model-pw-88@127.0.0.1:{closed}/v1?api-key=model-key-99",
        CONTEXTO_NEGOCIO_ENDPOINT=f"http://127.0.0.1:{closed}/ctx?id=4&token=ctx-token-55",
        LLM_MODE="offline",
        ROUTING_MODE="direct",
    )
    r = post(app, today_body("Quiero una cita", SESSION))  # the real URLs are still used
    assert r.status_code == 200 and r.json()["agent_used"] == "cita", r.text
    assert cita_agent.last_headers()["authorization"].startswith("Basic ")
    config = app.client.get("/config")
    assert config.status_code == 200
    leaked = [secret for secret in SECRETS if secret in config.text]
    assert not leaked, config.text
    body = config.json()
    assert body["database_url"].endswith("&password=***")
    assert body["agents"]["cita"]["url"] == with_userinfo(cita_agent.url, "agente:***")
    assert body["agents"]["reserva"]["url"] == f"http://127.0.0.1:{closed}/mcp?token=***&x=1"
    assert body["mcp_reserva_url"] == body["agents"]["reserva"]["url"]
    assert body["openai_base_url"] == f"http://modelo:***@127.0.0.1:{closed}/v1?api-key=***"
    assert body["contexto_negocio_endpoint"] == f"http://127.0.0.1:{closed}/ctx?id=4&token=***"


def test_a_refused_start_up_masks_the_database_url_on_stderr_and_in_the_log(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"postgresql://app:userinfo-pw1@127.0.0.1:{port}/orq?sslmode=disable&password=dbq-s3cret"
    proc = start_fails(tmp_path, {"DATABASE_URL": url})
    assert proc.returncode == 3, proc.stderr[-2000:]
    masked = f"postgresql://app:***@127.0.0.1:{port}/orq?"
    assert "Invalid setting DATABASE_URL" in proc.stderr and masked in proc.stderr
    assert "sslmode=disable&password=***" in proc.stderr
    log = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    refused = [line for line in log if "Invalid setting DATABASE_URL" in line["message"]]
    assert refused and "password=***" in refused[0]["message"], proc.stdout[-2000:]
    for secret in ("userinfo-pw1", "dbq-s3cret"):
        assert secret not in proc.stderr and secret not in proc.stdout


def test_an_invalid_setting_beside_urls_with_secrets_shows_them_masked(tmp_path: Path) -> None:
    proc = start_fails(
        tmp_path,
        {
            "AGENT_CITA_URL": "ftp://agente:agent-pw-77@files.example.com/chat?sig=ctx-token-55",
            "OPENAI_BASE_URL": "http://modelo:model-pw-88@127.0.0.1:1/v1",
            "SESSION_LOCK_TIMEOUT": "1",
        },
    )
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "ftp://agente:***@files.example.com/chat?sig=***" in proc.stderr
    for secret in SECRETS:
        assert secret not in proc.stderr and secret not in proc.stdout


def test_log_lines_mask_urls_and_the_secrets_inside_url_settings(tmp_path: Path) -> None:
    """The service's log formatter: a URL in any line (a library's error text) is masked by the
    rule, and a URL setting's secret values are masked wherever they appear alone."""
    settings = orchestrator_settings(
        tmp_path,
        {"reserva": "http://svc:mcp-pw-44@127.0.0.1:9/mcp?token=mcp-tok-66"},
        CONTEXTO_NEGOCIO_ENDPOINT="http://127.0.0.1:9/ctx?sig=ctx-token-55",
    )
    formatter = OrchestratorJsonFormatter(secrets=secret_values(settings))
    message = (
        "Client error '404 Not Found' for url "
        "'http://svc:mcp-pw-44@127.0.0.1:9/mcp?token=mcp-tok-66'; retried with mcp-tok-66"
    )
    record = logging.makeLogRecord(
        {
            "levelno": logging.DEBUG,
            "levelname": "DEBUG",
            "msg": message,
            "reason": "sig=ctx-token-55 refused",
        }
    )
    line = json.loads(formatter.format(record))
    assert line["message"].endswith("/mcp?token=***'; retried with ***")
    assert "svc:" in line["message"] and "mcp-pw-44" not in line["message"]
    assert line["extra_fields"]["reason"] == "sig=*** refused"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql://app:pw@db:5432/orq?sslmode=require",
            "postgresql://app:***@db:5432/orq?sslmode=require",
        ),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        (
            "https://h/p?access_token=a&X-Amz-Signature=b&apikey=c&Passwd=d&page=2#t=1",
            "https://h/p?access_token=***&X-Amz-Signature=***&apikey=***&Passwd=***&page=2#t=1",
        ),
        ("https://user@h/p?client_secret=z;pwd=y", "https://user@h/p?client_secret=***;pwd=***"),
        ("http://localhost:8003/mcp", "http://localhost:8003/mcp"),
        ("not a url", "not a url"),
    ],
)
def test_the_rule(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_urls_in(f"cannot use '{url}' (refused)") == f"cannot use '{masked}' (refused)"
