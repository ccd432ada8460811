"""deploy/prometheus/alerts.yml: `promtool check rules` and `promtool test rules` pass; every rule
has a Spanish summary, a minimum-traffic guard, and unit tests that see it fire and stay quiet."""

from __future__ import annotations

import subprocess

import yaml

from tests.monitoring.files import ALERT_TESTS, ALERTS, PROMTOOL, alert_rules, binary, metric_names

SPANISH = (" los ", " las ", " el ", " la ", " de ", " más ")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary(PROMTOOL), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_checks_the_rules() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_rule_is_tested_firing_and_quiet() -> None:
    tests = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case["alert_rule_test"]:
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names == fired, names ^ fired
    assert names == quiet, names ^ quiet


def test_every_rule_has_a_spanish_summary_a_severity_and_a_traffic_guard() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} >= {
        "OrquestadorErrorBudgetFastBurn",
        "OrquestadorErrorBudgetSlowBurn",
        "OrquestadorSlowTurns",
        "OrquestadorAgentCircuitOpen",
        "OrquestadorTurnTimeouts",
        "OrquestadorModelFallbacks",
        "OrquestadorWebhookBacklog",
        "OrquestadorConversationsWaitingForPerson",
    }
    for rule in rules:
        summary = rule["annotations"]["summary"]
        assert summary.startswith("Orquestador: ") and any(w in summary for w in SPANISH), rule
        assert rule["labels"]["severity"] in {"page", "ticket"}
        expr = " ".join(rule["expr"].split())
        guarded = "increase(orquestador_requests_total[" in expr or "_count[" in expr
        assert guarded or "deriv(" in expr, rule["alert"]  # a volume or trend guard
        assert metric_names(expr), rule["alert"]


def test_the_burn_rate_alerts_use_two_windows_each() -> None:
    exprs = {r["alert"]: " ".join(r["expr"].split()) for r in alert_rules()}
    fast, slow = exprs["OrquestadorErrorBudgetFastBurn"], exprs["OrquestadorErrorBudgetSlowBurn"]
    assert "[1h]" in fast and "[5m]" in fast and "14.4" in fast
    assert "[6h]" in slow and "[30m]" in slow and "(6 * 0.005)" in slow
