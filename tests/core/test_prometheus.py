"""GET /metrics/prometheus: the text exposition parsed by prometheus-client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from harness.agents import AgentFactory
from harness.openai_specs import error, route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_exposition_counts_turns_agents_breakers_and_fallbacks(
    start_app: StartApp, openai_stub: OpenAIStub, chat_agent: AgentFactory
) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, MCP_MAX_RETRIES=1, **model_settings(openai_stub))
    openai_stub.enqueue(
        route_json("delegate", "reserva"),
        route_json("respond", reply="hola"),
        error(500),
        route_json("delegate", "reserva"),
    )
    app.chat("quiero reservar", "p1")
    app.chat("hola", "p2")
    app.chat("hola", "p3")  # model fails → offline
    agent.control(fail_next=1)
    app.chat("quiero reservar", "p4")  # agent fails → fallback
    r = app.client.get("/metrics/prometheus")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    got = samples(r.text)
    req = "orquestador_requests_total"
    assert got[(req, (("action", "delegate"), ("agent", "reserva"), ("status", "200")))] == 1
    assert got[(req, (("action", "respond"), ("agent", "none"), ("status", "200")))] == 3
    assert got[("orquestador_request_latency_seconds_count", ())] == 4
    assert (
        got[("orquestador_agent_call_seconds_count", (("agent", "reserva"), ("outcome", "ok")))]
        == 1
    )
    assert (
        got[("orquestador_agent_call_seconds_count", (("agent", "reserva"), ("outcome", "error")))]
        == 1
    )
    assert got[("orquestador_llm_fallbacks_total", ())] == 1
    assert got[("orquestador_circuit_breaker_state", (("agent", "reserva"),))] == 0
    json_metrics = app.metrics()  # the JSON stays as it was
    assert json_metrics["requests_total"] == 4 and json_metrics["llm_fallbacks"] == 1
