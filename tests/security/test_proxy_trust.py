"""Whom the service trusts: uvicorn believes X-Forwarded-For only from FORWARDED_ALLOW_IPS; the
image and compose set it explicitly, and the nginx example closes idle and dribbling clients."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import REPO_ROOT
from harness.orchestrator import OrchestratorProcess, chat_body
from tests.deploy.files import compose, parse_dockerfile

NGINX = REPO_ROOT / "docs" / "nginx.conf"


def per_ip_limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> list[int]:
    """Statuses of three turns from 127.0.0.1, each claiming another client address."""
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    app = OrchestratorProcess(
        tmp_path,
        {
            "LLM_MODE": "offline",
            "CHECKPOINT_DB": tmp_path / "c.sqlite",
            "MCP_RESERVA_ENABLED": "false",
            "MCP_CITA_ENABLED": "false",
            "MCP_VENTA_ENABLED": "false",
            "RATE_LIMIT_PER_MINUTE": "2",
            **env,
        },
    ).start()
    try:
        statuses = []
        for n in range(3):
            r = app.client.post(
                "/api/agent/chat",
                json=chat_body("hola", f"xff-{n}"),
                headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
            )
            statuses.append(r.status_code)
        return statuses
    finally:
        app.close()


def test_uvicorn_default_lets_a_same_host_caller_pick_its_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the variable must be set: by default 127.0.0.1 is a trusted proxy."""
    assert per_ip_limited(tmp_path, monkeypatch) == [200, 200, 200]


def test_empty_forwarded_allow_ips_counts_the_real_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert per_ip_limited(tmp_path, monkeypatch, FORWARDED_ALLOW_IPS="") == [200, 200, 429]


def test_image_and_compose_set_forwarded_allow_ips() -> None:
    assert parse_dockerfile().final.env()["FORWARDED_ALLOW_IPS"] == ""
    env = compose()["services"]["orquestador"]["environment"]
    assert env["FORWARDED_ALLOW_IPS"] == "${FORWARDED_ALLOW_IPS:-}"  # empty unless set in .env
    assert ".env" in str(compose()["services"]["orquestador"]["env_file"])


def nginx_seconds(directive: str) -> list[int]:
    text = NGINX.read_text()
    found = re.findall(rf"^\s*{directive}\s+(\d+)s;", text, re.MULTILINE)
    return [int(value) for value in found]


@pytest.mark.parametrize(
    ("directive", "most"),
    [
        ("client_header_timeout", 15),
        ("client_body_timeout", 15),
        ("keepalive_timeout", 30),
        ("send_timeout", 60),
    ],
)
def test_nginx_example_closes_slow_and_idle_clients(directive: str, most: int) -> None:
    (seconds,) = nginx_seconds(directive)  # once, at server level, well below nginx's 60 s / 75 s
    assert 0 < seconds <= most


def test_nginx_example_replaces_x_forwarded_for() -> None:
    text = NGINX.read_text()
    assert "$proxy_add_x_forwarded_for" not in text  # appending keeps the client's own claim
    sets = re.findall(r"proxy_set_header X-Forwarded-For (\S+);", text)
    assert sets and set(sets) == {"$remote_addr"}
    assert "client_max_body_size 64k;" in text
