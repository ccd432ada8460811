"""A few real turns that touch every metric the dashboard and the alerts read."""

from __future__ import annotations

from harness.http_agent import HttpAgent
from harness.openai_stub import OpenAIStub, error, route_json
from harness.orchestrator import RunningApp


def agent_settings(agent: HttpAgent) -> dict[str, str]:
    return {"AGENT_VENTA_URL": agent.url, "AGENT_VENTA_PROTOCOL": "http"}


def few_turns(app: RunningApp, stub: OpenAIStub, agent: HttpAgent) -> None:
    """Delegated (the agent reports usage), answered, a model failure (offline fallback), and a
    failed agent call: tokens, cost, agent calls and failures, fallbacks, breakers."""
    agent.state.usage = {"prompt_tokens": 30, "completion_tokens": 8}
    stub.enqueue(
        route_json("delegate", "venta"),
        route_json("respond", reply="hola, ¿en qué te ayudo?"),
        error(500),
        route_json("delegate", "venta"),
    )
    assert app.chat("quiero comprar zapatos", "m-1", id_empresa=31).status_code == 200
    assert app.chat("hola", "m-2", id_empresa=32).status_code == 200
    assert app.chat("hola", "m-3", id_empresa=31).status_code == 200
    agent.state.statuses.append(500)
    assert app.chat("quiero comprar", "m-4", id_empresa=32).status_code == 200
