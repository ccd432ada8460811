"""Budgets on the server's key: a company past its month's tokens routes offline (answered, never
an error) and is counted; its turns on its own key are not limited; agents' usage is theirs."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub, route_json
from harness.orchestrator import RunningApp, StartApp, chat_body, model_settings


def metric(app: RunningApp, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = app.client.get("/metrics/prometheus").text
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def company(app: RunningApp, id_empresa: int) -> dict[str, Any]:
    (found,) = app.client.get("/usage", params={"id_empresa": id_empresa}).json()["companies"]
    return found


def test_a_company_past_its_server_key_budget_routes_offline_but_not_on_its_own_key(
    start_app: StartApp, openai_stub: OpenAIStub
) -> None:
    app = start_app(
        SERVER_KEY_MONTHLY_TOKENS=100_000,
        SERVER_KEY_COMPANY_BUDGETS={303: 50},  # one model turn spends ~270 tokens
        METRICS_COMPANY_LABEL=True,
        **model_settings(openai_stub),
    )
    openai_stub.set_handler(lambda req: route_json("respond", reply="respuesta del modelo"))

    first = app.chat("hola", "b-303-a", id_empresa=303)
    assert first.json()["reply"] == "respuesta del modelo"
    assert openai_stub.request_count == 1

    held = app.chat("hola otra vez", "b-303-b", id_empresa=303)
    assert held.status_code == 200 and held.json()["reply"]  # the offline router answered
    assert held.json()["reply"] != "respuesta del modelo"
    assert openai_stub.request_count == 1  # no model call on the server's key

    own = {**chat_body("y con mi clave", "b-303-c", id_empresa=303), "api_key": "sk-propia-303"}
    r = app.client.post("/api/agent/chat", json=own)
    assert r.status_code == 200 and r.json()["reply"] == "respuesta del modelo"
    assert openai_stub.request_count == 2
    assert openai_stub.request_headers[-1]["authorization"] == "Bearer sk-propia-303"

    other = app.chat("hola", "b-404-a", id_empresa=404)  # under the general budget
    assert other.json()["reply"] == "respuesta del modelo"
    assert openai_stub.request_count == 3

    got = company(app, 303)
    assert got["turns"] == 3 and got["budget_exceeded"] == 1
    assert got["by_key"]["server"]["turns"] == 2 and got["by_key"]["company"]["turns"] == 1
    own_usage = openai_stub.usages[1]
    assert got["by_key"]["company"]["input_tokens"] == own_usage["prompt_tokens"]
    assert company(app, 404)["budget_exceeded"] == 0
    assert metric(app, "orquestador_budget_exceeded_total") == {(("id_empresa", "303"),): 1.0}
    tokens = metric(app, "orquestador_llm_tokens_total")
    assert tokens[(("direction", "input"), ("id_empresa", "303"), ("key", "company"),
                   ("model", "gpt-4o-mini"))] == own_usage["prompt_tokens"]  # fmt: skip


def test_the_monthly_budget_holds_every_company_and_zero_in_the_json_exempts_one(
    start_app: StartApp, openai_stub: OpenAIStub
) -> None:
    app = start_app(
        SERVER_KEY_MONTHLY_TOKENS=10,
        SERVER_KEY_COMPANY_BUDGETS={505: 0},
        **model_settings(openai_stub),
    )
    openai_stub.set_handler(lambda req: route_json("respond", reply="respuesta del modelo"))
    for session in ("m-1", "m-2"):
        app.chat("hola", session, id_empresa=501)
        app.chat("hola", session, id_empresa=505)
    replies = openai_stub.request_count
    assert replies == 3  # 501 once (then past 10 tokens), 505 twice
    assert company(app, 501)["budget_exceeded"] == 1
    assert company(app, 505)["budget_exceeded"] == 0


def test_an_agents_reported_usage_is_counted_as_that_agents(start_app: StartApp) -> None:
    with HttpAgent("venta") as agent:
        agent.state.usage = {"prompt_tokens": 40, "completion_tokens": 12}
        app = start_app(
            LLM_MODE="offline",
            ROUTING_MODE="direct",
            AGENT_VENTA_URL=agent.url,
            AGENT_VENTA_PROTOCOL="http",
        )
        r = app.chat("quiero comprar", "a-1", id_empresa=606, modalidad="ventas")
        assert r.json()["agent_used"] == "venta"
        agent.state.usage = {"input_tokens": 5, "output_tokens": 1}
        app.chat("otra cosa", "a-1", id_empresa=606, modalidad="ventas")
        got = company(app, 606)
        assert got["by_key"]["agent"]["input_tokens"] == 45
        assert got["by_key"]["agent"]["output_tokens"] == 13
        assert got["turns"] == 2 and got["input_tokens"] == 0  # no model call of ours
        assert got["turns_by_agent"] == {"venta": 2}
        assert got["by_key"]["server"]["turns"] == 2 and got["by_key"]["agent"]["turns"] == 0
        tokens = metric(app, "orquestador_agent_tokens_total")
        assert tokens[(("agent", "venta"), ("direction", "input"))] == 45
