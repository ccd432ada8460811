"""deploy/grafana/orquestador.json: every metric its queries read is exposed by
/metrics/prometheus after a few turns (save issue 24's webhook gauge, added by that branch)."""

from __future__ import annotations

from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings
from tests.monitoring.files import (
    alert_rules,
    dashboard,
    dashboard_exprs,
    metric_names,
    sample_names,
)
from tests.monitoring.turns import agent_settings, few_turns

SECTIONS = ("Traffic", "Routing", "Failures", "Tokens", "Webhooks")


def test_the_dashboard_has_its_sections_and_queries() -> None:
    data = dashboard()
    rows = [p["title"] for p in data["panels"] if p["type"] == "row"]
    assert [next(r for r in rows if r.startswith(s)) for s in SECTIONS]
    for panel in data["panels"]:
        if panel["type"] != "row":
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), panel
            assert panel["datasource"]["uid"] == "${datasource}"


def test_every_metric_the_dashboard_and_alerts_read_is_exposed_after_a_few_turns(
    start_app: StartApp, openai_stub: OpenAIStub
) -> None:
    with HttpAgent("venta") as agent:
        app = start_app(**agent_settings(agent), **model_settings(openai_stub))
        before = sample_names(app.client.get("/metrics/prometheus").text)
        few_turns(app, openai_stub, agent)
        exposed = sample_names(app.client.get("/metrics/prometheus").text)
    read = set().union(*(metric_names(e) for e in dashboard_exprs()))
    assert {"orquestador_llm_tokens_total", "orquestador_llm_cost_usd_total"} <= read
    assert read <= exposed, read - exposed
    assert "orquestador_llm_tokens_total" not in before  # the turns made it appear
    alerted = set().union(*(metric_names(r["expr"]) for r in alert_rules()))
    assert alerted <= exposed, alerted - exposed
