"""GET /usage after real turns: tokens per company from the OpenAI stub's usage fields (router,
tool loop, streamed), cost from MODEL_PRICES, kept across a restart, CSV, Spanish 400s."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from harness.agents import AgentFactory
from harness.openai_stub import OpenAIStub, route_json, text, tool_calls
from harness.orchestrator import RunningApp, StartApp, chat_body, model_settings

PRICES = {"gpt-4o-mini": {"input": 0.15, "output": 0.60}}


def stream_turn(app: RunningApp, body: dict[str, Any]) -> dict[str, Any]:
    """One turn over /api/agent/chat/stream; its `done` event."""
    done: dict[str, Any] = {}
    name = None
    with app.client.stream("POST", "/api/agent/chat/stream", json=body) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name == "done":
                done = json.loads(line.split(":", 1)[1])
    return done


def spent(usages: list[dict[str, Any]]) -> tuple[int, int]:
    return sum(u["prompt_tokens"] for u in usages), sum(u["completion_tokens"] for u in usages)


def five_turns(app: RunningApp, stub: OpenAIStub) -> dict[int, tuple[int, int, int]]:
    """Three turns of company 101 (router; tool loop streamed; router) and two of 202: the
    (turns, input, output) tokens the stub answered for each."""
    seen: dict[int, tuple[int, int, int]] = {}

    def count(company: int, before: int) -> None:
        new = stub.usages[before:]
        assert new, "the turn made no model call"
        turns, i, o = seen.get(company, (0, 0, 0))
        ni, no = spent(new)
        seen[company] = (turns + 1, i + ni, o + no)

    before = len(stub.usages)
    stub.enqueue(route_json("respond", reply="hola, ¿en qué te ayudo?"))
    assert app.chat("hola", "u-101-a", id_empresa=101).status_code == 200
    count(101, before)

    before = len(stub.usages)
    stub.enqueue(
        route_json("delegate", "reserva"),
        tool_calls([("listar_servicios", {})], content=""),
        text("Tenemos corte de cabello y manicure. ¿Cuál reservas?"),
    )
    done = stream_turn(
        app, chat_body("¿qué servicios tienen para reservar?", "u-101-b", id_empresa=101)
    )
    assert done["agent_used"] == "reserva"
    assert len(stub.usages) - before == 3  # router + two tool-loop steps, streamed with usage
    count(101, before)

    for company, session in ((202, "u-202-a"), (101, "u-101-c"), (202, "u-202-b")):
        before = len(stub.usages)
        stub.enqueue(route_json("respond", reply="con gusto"))
        assert (
            app.chat(
                "una pregunta más larga sobre horarios", session, id_empresa=company
            ).status_code
            == 200
        )
        count(company, before)
    return seen


def by_company(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {c["id_empresa"]: c for c in report["companies"]}


def check(report: dict[str, Any], expected: dict[int, tuple[int, int, int]]) -> None:
    companies = by_company(report)
    assert set(companies) == set(expected)
    for company, (turns, i, o) in expected.items():
        got = companies[company]
        assert (got["turns"], got["input_tokens"], got["output_tokens"]) == (turns, i, o)
        cost = (i * PRICES["gpt-4o-mini"]["input"] + o * PRICES["gpt-4o-mini"]["output"]) / 1e6
        assert abs(got["cost_usd"] - cost) < 1e-6
        assert got["by_key"]["server"]["turns"] == turns and "company" not in got["by_key"]
        assert got["by_model"]["gpt-4o-mini"]["input_tokens"] == i
        assert len(got["days"]) == 1 and got["days"][0]["turns"] == turns
    costs = [c["cost_usd"] for c in report["companies"]]
    assert costs == sorted(costs, reverse=True)  # every company, sorted by cost
    assert report["totals"]["turns"] == sum(t for t, _, _ in expected.values())


def prometheus_tokens(app: RunningApp) -> dict[tuple[str, str, str], float]:
    text_ = app.client.get("/metrics/prometheus").text
    out = {}
    for family in text_string_to_metric_families(text_):
        for s in family.samples:
            if s.name == "orquestador_llm_tokens_total":
                out[(s.labels["direction"], s.labels["model"], s.labels["key"])] = s.value
    return out


def test_usage_per_company_matches_the_model_and_survives_a_restart(
    start_app: StartApp,
    openai_stub: OpenAIStub,
    tool_agent: AgentFactory,
    storage: dict[str, Any],
) -> None:
    agent = tool_agent("reserva")
    settings = {
        "agents": {"reserva": agent.url},
        "MCP_RESERVA_MODE": "tools",
        "MODEL_PRICES": PRICES,
        **storage,
        **model_settings(openai_stub),
    }
    app = start_app(**settings)
    expected = five_turns(app, openai_stub)
    report = app.client.get("/usage").json()
    check(report, expected)
    assert report["currency"] == "USD" and report["from"].endswith("-01")

    one = app.client.get("/usage", params={"id_empresa": 202}).json()
    assert [c["id_empresa"] for c in one["companies"]] == [202]
    assert one["totals"]["turns"] == 2

    tokens = prometheus_tokens(app)
    assert tokens[("input", "gpt-4o-mini", "server")] == sum(i for _, i, _ in expected.values())
    assert tokens[("output", "gpt-4o-mini", "server")] == sum(o for _, _, o in expected.values())

    app.stop()
    again = start_app(**settings)
    check(again.client.get("/usage").json(), expected)


def test_csv_has_a_header_row_and_a_line_per_stored_row(
    start_app: StartApp, openai_stub: OpenAIStub
) -> None:
    app = start_app(**model_settings(openai_stub))
    openai_stub.enqueue(route_json("respond", reply="hola"))
    assert app.chat("hola", "csv-1", id_empresa=7).status_code == 200
    r = app.client.get("/usage", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].split(",") == [
        "id_empresa", "day", "key", "model", "action", "agent",
        "turns", "input_tokens", "output_tokens", "cost_usd", "budget_exceeded",
    ]  # fmt: skip
    assert len(lines) == 2 and lines[1].startswith("7,")
    (usage,) = openai_stub.usages
    fields = lines[1].split(",")
    assert fields[2:5] == ["server", "gpt-4o-mini", "respond"]
    assert int(fields[7]) == usage["prompt_tokens"] and int(fields[8]) == usage["completion_tokens"]


def test_bad_parameters_are_spanish_400s(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    cases = {
        (("from", "2026-13-01"),): "El parámetro 'from' debe ser una fecha AAAA-MM-DD",
        (("to", "ayer"),): "El parámetro 'to' debe ser una fecha AAAA-MM-DD",
        (("from", "2026-05-02"), ("to", "2026-05-01")): "La fecha 'from' no puede ser posterior",
        (("from", "2020-01-01"), ("to", "2026-01-01")): "El rango de fechas no puede superar",
        (("id_empresa", "abc"),): "El campo 'id_empresa' debe ser un número mayor a 0",
        (("format", "xml"),): "El parámetro 'format' debe ser 'json' o 'csv'",
    }
    for params, detail in cases.items():
        r = app.client.get("/usage", params=dict(params))
        assert r.status_code == 400, (params, r.text)
        assert r.json()["detail"].startswith(detail), r.json()
    ok = app.client.get("/usage", params={"from": "2026-01-01", "to": "2026-01-31"})
    assert ok.status_code == 200 and ok.json()["companies"] == []


def test_usage_needs_the_admin_key(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline", API_KEYS="chat-key", ADMIN_API_KEYS="admin-key")
    assert app.client.get("/usage", headers={"X-API-Key": "chat-key"}).status_code == 403
    assert app.client.get("/usage").status_code == 401
    assert app.client.get("/usage", headers={"X-API-Key": "admin-key"}).status_code == 200
