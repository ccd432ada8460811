"""The Dockerfile: multi-stage, slim, non-root, runtime-only; its CMD and HEALTHCHECK work here."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from harness import REPO_ROOT
from harness.orchestrator import chat_body
from harness.procs import ServerProcess, child_env, free_port
from tests.deploy.files import DOCKERFILE, dockerignore_patterns, parse_dockerfile

VENV_BIN = str(Path(sys.executable).parent)
RUNTIME_SOURCES = {"pyproject.toml", "common", "graph", "server", "mcp_agents"}


def test_multi_stage_slim_non_root_runtime_only() -> None:
    dockerfile = parse_dockerfile()
    assert len(dockerfile.stages) >= 2
    assert {stage.base for stage in dockerfile.stages} == {"python:3.11-slim"}
    build, final = dockerfile.stages[0], dockerfile.final
    assert build.name and final.name and build.name != final.name
    copied = {args.split()[0] for args in build.all("COPY")}
    assert copied == RUNTIME_SOURCES  # no tests, bench, docs, .env
    assert any("pip install ." in run for run in build.all("RUN"))
    # the runtime stage takes only the build's virtualenv, and runs as UID 10001
    assert final.all("COPY") and all(
        c.startswith(f"--from={build.name} ") for c in final.all("COPY")
    )
    assert final.all("USER")[-1].split(":")[0] == "10001"
    assert "--uid 10001" in " ".join(final.all("RUN"))
    assert final.all("EXPOSE") == [final.env()["UVICORN_PORT"]]


def test_healthcheck_needs_no_curl() -> None:
    options, command = parse_dockerfile().final.healthcheck()
    assert {"interval", "timeout", "retries"} <= set(options)
    assert command[:2] == ["python", "-c"] and "urllib.request" in command[2]
    text = DOCKERFILE.read_text()
    assert "curl" not in text.split("HEALTHCHECK", 1)[1] and "wget" not in text


def test_dockerignore_keeps_secrets_and_dev_files_out_of_the_context() -> None:
    patterns = dockerignore_patterns()
    excluded = {p for p in patterns if not p.startswith("!")}
    for name in (".env", ".git", ".venv", "tests", "data", "bench", ".langgraph_api"):
        assert name in excluded, name
    for source in RUNTIME_SOURCES:  # what COPY needs is in the context
        assert not any(fnmatch.fnmatch(source, p) for p in excluded), source


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def image_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the build stage installs: the build context's COPYed files, `pip install .`d (into a
    target directory; the dependencies come from this virtualenv)."""
    root = tmp_path_factory.mktemp("image")
    context = root / "src"
    context.mkdir()
    for args in parse_dockerfile().stages[0].all("COPY"):
        source, target = args.split()  # relative to WORKDIR /src
        if (REPO_ROOT / source).is_dir():
            shutil.copytree(
                REPO_ROOT / source,
                context / Path(target).name,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        else:
            shutil.copy2(REPO_ROOT / source, context)
    env = child_env({"PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(root / "wheel"),
            str(context),
        ],
        env,
        root,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "wheel").glob("*.whl")
    installed = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(root / "site"),
            str(wheel),
        ],
        env,
        root,
    )
    assert installed.returncode == 0, installed.stderr
    return root / "site"


def test_image_command_and_healthcheck_work_here(tmp_path: Path, image_site: Path) -> None:
    """The image's CMD and HEALTHCHECK, unchanged, with the image's ENV (host/port moved to
    loopback), importing the code only from what the build stage installs."""
    final = parse_dockerfile().final
    port = free_port()
    env = {key: value for key, value in final.env().items() if key != "PATH"}
    env.update(
        {
            "PATH": VENV_BIN + os.pathsep + os.environ["PATH"],
            "PYTHONPATH": str(image_site),
            "UVICORN_HOST": "127.0.0.1",
            "UVICORN_PORT": str(port),
            "CHECKPOINT_DB": str(tmp_path / "data" / "checkpoints.sqlite"),
            "LLM_MODE": "offline",
            "MCP_RESERVA_ENABLED": "false",
            "MCP_CITA_ENABLED": "false",
            "MCP_VENTA_ENABLED": "false",
            "SESSION_TTL_SECONDS": "0",
        }
    )
    full_env = child_env(env)
    where = _run(
        ["python", "-c", "import server.main, graph, mcp_agents; print(server.main.__file__)"],
        full_env,
        tmp_path,
    )
    assert where.stdout.strip().startswith(str(image_site)), where.stdout + where.stderr
    command = final.exec_form("CMD")
    _, health = final.healthcheck()
    assert _run(health, full_env, tmp_path).returncode != 0  # nothing listening yet
    server = ServerProcess(
        command,
        name="image-cmd",
        log_dir=tmp_path,
        env=env,
        cwd=tmp_path,
        ready_port=port,
        ready_timeout=30,
    )
    with server:
        result = _run(health, full_env, tmp_path)
        assert result.returncode == 0, result.stderr + server.log_tail()
        assert httpx.get(f"http://127.0.0.1:{port}/health", trust_env=False).json() == {
            "status": "ok",
            "service": "orquestador",
        }
        turn = httpx.post(
            f"http://127.0.0.1:{port}/api/agent/chat",
            trust_env=False,
            timeout=30,
            json=chat_body("hola", session_id="image-1"),
        )
        assert turn.status_code == 200 and turn.json()["action"] == "respond", turn.text
    assert (tmp_path / "data" / "checkpoints.sqlite").exists()
    assert _run(health, full_env, tmp_path).returncode != 0  # and it notices a dead server
