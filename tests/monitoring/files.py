"""The operations pack's files and binaries: alert rules, dashboard queries, promtool/prometheus."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from harness import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERT_TESTS = PROMETHEUS_DIR / "alerts_test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "orquestador.json"
PROMTOOL = os.environ.get("PROMTOOL", "/usr/bin/promtool")
PROMETHEUS = os.environ.get("PROMETHEUS", "/usr/bin/prometheus")
LANDING_ELSEWHERE: set[str] = set()
"""Metrics the rules and dashboard name that another branch adds (none: issue 24's webhook
outbox has landed)."""
_METRIC = re.compile(r"\b(orquestador_[a-z0-9_]+)\b")


def binary(path: str) -> str:
    """A Debian `prometheus` binary; a missing one fails the test (`make test` installs it)."""
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"{path} not found: the monitoring tests need Debian's prometheus package "
            "(`make test` installs it: apt-get install --no-install-recommends prometheus)",
            pytrace=False,
        )
    return path


def alert_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS.read_text())
    return [rule for group in data["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """The orquestador_* series a PromQL expression reads."""
    return set(_METRIC.findall(expr))


def sample_names(exposition: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(exposition) for s in f.samples}


def repo_path(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))
