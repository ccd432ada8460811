"""The image's and compose's stop timeouts leave room for the app's drain and uvicorn's close."""

from __future__ import annotations

import re

from harness import REPO_ROOT
from server.settings import Settings
from tests.deploy.files import compose, parse_dockerfile


def uvicorn_timeout(command: list[str]) -> float:
    assert "--timeout-graceful-shutdown" in command, command
    return float(command[command.index("--timeout-graceful-shutdown") + 1])


def test_compose_stop_grace_covers_drain_and_uvicorn() -> None:
    service = compose()["services"]["orquestador"]
    grace = float(service["environment"]["SHUTDOWN_GRACE_SECONDS"])
    match = re.fullmatch(r"(\d+)s", str(service["stop_grace_period"]))
    assert match, service.get("stop_grace_period")
    assert int(match.group(1)) >= grace + uvicorn_timeout(service["command"]) + 5


def test_image_and_settings_agree() -> None:
    final = parse_dockerfile().final
    grace = float(final.env()["SHUTDOWN_GRACE_SECONDS"])
    assert grace == Settings(_env_file=None).SHUTDOWN_GRACE_SECONDS
    assert uvicorn_timeout(final.exec_form("CMD")) <= 15
    assert "--stop-timeout 75" in (REPO_ROOT / "Dockerfile").read_text()
    assert grace == float(
        compose()["services"]["orquestador"]["environment"]["SHUTDOWN_GRACE_SECONDS"]
    )
