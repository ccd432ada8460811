"""The real Prometheus binary, configured from deploy/prometheus/prometheus.yml, scrapes a running
orchestrator (admin key as a Bearer credentials file) and answers a token metric through its
HTTP query API; alerts.yml loads in it. Loopback only, data in a temp dir."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings
from harness.procs import ServerProcess, free_port
from tests.monitoring.files import ALERTS, PROMETHEUS, PROMETHEUS_CONFIG, alert_rules, binary
from tests.monitoring.turns import agent_settings, few_turns

ADMIN_KEY = "clave-admin-metricas"


def local_config(tmp_path: Path, target: str) -> Path:
    """The shipped config pointed at `target`, with a 1 s scrape and the key in a temp file."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(ALERTS)]
    (job,) = config["scrape_configs"]
    key_file = tmp_path / "metrics_api_key"
    key_file.write_text(ADMIN_KEY)
    job["authorization"]["credentials_file"] = str(key_file)
    job["static_configs"] = [{"targets": [target]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def query(base: str, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10, trust_env=False)
    assert r.status_code == 200 and r.json()["status"] == "success", r.text
    result: list[dict[str, Any]] = r.json()["data"]["result"]
    return result


def test_prometheus_scrapes_the_service_and_reads_a_token_metric_back(
    start_app: StartApp, openai_stub: OpenAIStub, tmp_path: Path
) -> None:
    with HttpAgent("venta") as agent:
        app = start_app(
            **agent_settings(agent),
            **model_settings(openai_stub),
            API_KEYS="clave-chat",
            ADMIN_API_KEYS=ADMIN_KEY,
        )
        app.client.headers["X-API-Key"] = ADMIN_KEY
        few_turns(app, openai_stub, agent)
        expected_input = sum(u["prompt_tokens"] for u in openai_stub.usages)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        prometheus = ServerProcess(
            [
                binary(PROMETHEUS),
                f"--config.file={local_config(tmp_path, f'127.0.0.1:{app.port}')}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
            ],
            name="prometheus",
            log_dir=tmp_path,
            cwd=tmp_path,
            ready_url=f"{base}/-/ready",
            ready_timeout=60,
        )
        with prometheus:
            got: list[dict[str, Any]] = []
            deadline = time.monotonic() + 60
            expr = 'sum(orquestador_llm_tokens_total{direction="input", key="server"})'
            while time.monotonic() < deadline:  # the first scrapes come within seconds
                got = query(base, expr)
                if got:
                    break
                time.sleep(0.5)
            assert got, prometheus.log_tail()
            assert float(got[0]["value"][1]) == expected_input
            (up,) = query(base, 'up{job="orquestador"}')
            assert up["value"][1] == "1"  # scraped with the admin key (401 would be up == 0)
            rules = httpx.get(f"{base}/api/v1/rules", timeout=10, trust_env=False).json()
            loaded = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
            assert loaded == {r["alert"] for r in alert_rules()}
