"""Prometheus labels hold only roster names, modalidad table keys or `other` (issue 21 item 4)."""

from __future__ import annotations

from itertools import count

from prometheus_client.parser import text_string_to_metric_families

from harness.http_agent import HttpAgent
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings
from tests.n8n.helpers import agent_env, post, today_body

JUNK = 30


def label_values(exposition: str, family: str) -> list[dict[str, str]]:
    """The label sets of a counter family's `_total` samples."""
    for metric in text_string_to_metric_families(exposition):
        if metric.name == family:
            return [s.labels for s in metric.samples if s.name.endswith("_total")]
    return []


def test_the_chosen_label_is_bounded_after_junk_agent_names(
    start_app: StartApp, openai_stub: OpenAIStub, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(**agent_env(agents), **model_settings(openai_stub))
    n = count()
    # the model answers junk agent names (and, once, another roster agent)
    openai_stub.set_handler(
        lambda req: route_json("delegate", f"x{next(n)}<script>alert(1)</script>")
    )
    for i in range(JUNK):
        r = post(app, today_body("Necesito ayuda", session_id=51900000100 + i))
        assert (r.status_code, r.json()["agent_used"]) == (200, "cita"), r.text
    openai_stub.set_handler(lambda req: route_json("delegate", "venta"))
    assert post(app, today_body("otra cosa", session_id=51900000999)).status_code == 200

    assert app.metrics()["routing_corrections"] == JUNK + 1
    exposition = app.client.get("/metrics/prometheus").text
    series = label_values(exposition, "orquestador_routing_corrections")
    assert sorted(series, key=lambda s: s["chosen"]) == [
        {"modalidad": "citas", "chosen": "other"},
        {"modalidad": "citas", "chosen": "venta"},
    ], series
    assert "<script>" not in exposition
    # every agent label of every family is a roster name or `other`
    roster = set(app.settings.roster.all_names) | {"other", "none"}
    for metric in text_string_to_metric_families(exposition):
        for sample in metric.samples:
            assert sample.labels.get("agent", "none") in roster, (metric.name, sample.labels)
