"""One way to say how many workers: WEB_CONCURRENCY in the image and compose; `make run` is one."""

from __future__ import annotations

from scripts.run_stack import services as run_stack_services
from tests.deploy.files import compose, parse_dockerfile


def test_the_image_runs_one_worker_unless_web_concurrency_says_more() -> None:
    final = parse_dockerfile().final
    assert final.env()["WEB_CONCURRENCY"] == "1"
    assert "--workers" not in final.exec_form("CMD")  # uvicorn reads WEB_CONCURRENCY itself


def test_compose_takes_web_concurrency_from_dot_env() -> None:
    orchestrator = compose()["services"]["orquestador"]
    assert "--workers" not in orchestrator["command"]
    assert "WEB_CONCURRENCY" not in orchestrator["environment"]  # .env (env_file) decides
    assert [entry["path"] for entry in orchestrator["env_file"]] == [".env"]


def test_make_run_stays_single_process_whatever_the_environment() -> None:
    (orchestrator,) = [s for s in run_stack_services() if s.name == "orquestador"]
    args = orchestrator.argv
    assert args[args.index("--workers") + 1] == "1"
