"""The n8n examples (v0.2 body, today's body): Webhook → HTTP Request (chat) → Respond."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness import REPO_ROOT, orchestrator

WORKFLOW = REPO_ROOT / "examples" / "n8n_workflow.json"
FIELD = re.compile(r"(\w+):\s*(String\()?\$json\.body\.(\w+)\)?")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return json.loads(WORKFLOW.read_text())


def node(workflow: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [n for n in workflow["nodes"] if n["type"] == f"n8n-nodes-base.{kind}"]
    return found


def successors(workflow: dict[str, Any], name: str) -> list[str]:
    outputs = workflow["connections"].get(name, {}).get("main", [])
    return [link["node"] for output in outputs for link in output]


def test_nodes_are_connected_in_order(workflow: dict[str, Any]) -> None:
    assert len(workflow["nodes"]) == 3
    assert (
        len({n["name"] for n in workflow["nodes"]})
        == len({n["id"] for n in workflow["nodes"]})
        == 3
    )
    webhook, http, respond = (
        node(workflow, k) for k in ("webhook", "httpRequest", "respondToWebhook")
    )
    assert successors(workflow, webhook["name"]) == [http["name"]]
    assert successors(workflow, http["name"]) == [respond["name"]]
    assert successors(workflow, respond["name"]) == []
    assert webhook["parameters"]["httpMethod"] == "POST"
    assert webhook["parameters"]["responseMode"] == "responseNode"  # the Respond node answers
    assert respond["parameters"]["respondWith"] == "json"


def test_http_request_calls_the_chat_endpoint_with_key_and_body(workflow: dict[str, Any]) -> None:
    params = node(workflow, "httpRequest")["parameters"]
    assert params["method"] == "POST" and params["url"].endswith("'/api/agent/chat' }}")
    headers = {h["name"]: h["value"] for h in params["headerParameters"]["parameters"]}
    assert set(headers) == {"X-API-Key"} and "$env." in headers["X-API-Key"]  # no key in the file
    assert params["sendBody"] is True and params["specifyBody"] == "json"
    fields = {m.group(1): m.group(3) for m in FIELD.finditer(params["jsonBody"])}
    assert fields == {"message": "message", "session_id": "session_id", "config": "config"}
    assert not re.search(r"sk-|lsv2_|Bearer ", WORKFLOW.read_text())


def test_the_body_it_builds_is_accepted_by_the_api(
    workflow: dict[str, Any], tmp_path: Path
) -> None:
    """What the node would send for a typical webhook call (session_id as a number) gets a 200."""
    params = node(workflow, "httpRequest")["parameters"]
    incoming = orchestrator.chat_body("hola", session_id=51987654321)  # n8n's $json.body
    body = {}
    for match in FIELD.finditer(params["jsonBody"]):
        value = incoming[match.group(3)]
        body[match.group(1)] = str(value) if match.group(2) else value
    (header,) = params["headerParameters"]["parameters"]
    app = orchestrator.RunningApp(
        orchestrator.orchestrator_settings(
            tmp_path, LLM_MODE="offline", API_KEYS="n8n-test-key-0001"
        )
    ).start()
    try:
        assert app.client.post("/api/agent/chat", json=body).status_code == 401
        response = app.client.post(
            "/api/agent/chat", json=body, headers={header["name"]: "n8n-test-key-0001"}
        )
    finally:
        app.stop()
    assert response.status_code == 200, response.text
    assert response.json()["session_id"] == "51987654321" and response.json()["reply"]


# -- examples/n8n_workflow_today.json: today's body (top-level id_empresa and api_key) -----------
TODAY = REPO_ROOT / "examples" / "n8n_workflow_today.json"
TODAY_FIELD = re.compile(r"(\w+):\s*\$json\.(?:body\.)?(\w+)")


@pytest.fixture(scope="module")
def today() -> dict[str, Any]:
    return json.loads(TODAY.read_text())


def test_todays_workflow_is_webhook_chat_respond(today: dict[str, Any]) -> None:
    webhook, http, respond = (
        node(today, k) for k in ("webhook", "httpRequest", "respondToWebhook")
    )
    assert len(today["nodes"]) == 3 and len({n["id"] for n in today["nodes"]}) == 3
    assert successors(today, webhook["name"]) == [http["name"]]
    assert successors(today, http["name"]) == [respond["name"]]
    assert webhook["parameters"]["responseMode"] == "responseNode"
    assert (
        webhook["parameters"]["path"]
        != node(json.loads(WORKFLOW.read_text()), "webhook")["parameters"]["path"]
    )  # both can be imported into one n8n


def test_todays_workflow_posts_todays_body_within_the_turn_deadline(
    today: dict[str, Any],
) -> None:
    from server.settings import Settings

    params = node(today, "httpRequest")["parameters"]
    assert params["method"] == "POST" and params["url"].endswith("'/api/agent/chat' }}")
    headers = {h["name"]: h["value"] for h in params["headerParameters"]["parameters"]}
    assert set(headers) == {"X-API-Key"} and "$env." in headers["X-API-Key"]
    fields = dict(TODAY_FIELD.findall(params["jsonBody"]))
    assert fields == {
        "message": "message",
        "session_id": "session_id",
        "id_empresa": "id_empresa",
        "api_key": "api_key",
        "config": "config",
    }
    # the node waits longer than a turn may take, so a slow turn is the fallback, not an n8n error
    settings = Settings(_env_file=None)
    default_deadline = settings.TURN_TIMEOUT
    assert params["options"]["timeout"] / 1000 > default_deadline
    respond = node(today, "respondToWebhook")["parameters"]["responseBody"]
    assert set(dict(TODAY_FIELD.findall(respond)).values()) == {
        "reply",
        "session_id",
        "agent_used",
        "url",
    }
    assert not re.search(r"sk-|lsv2_|Bearer ", TODAY.read_text())


def test_todays_workflow_round_trip_through_the_api(today: dict[str, Any], tmp_path: Path) -> None:
    """The webhook's body (today's n8n body), through the node's expression, to the API and an
    HTTP agent; then the Respond node's fields read from the answer."""
    from harness.http_agent import HttpAgent

    params = node(today, "httpRequest")["parameters"]
    incoming = {
        "message": "Quiero una cita para mañana",
        "session_id": 51987654321,
        "id_empresa": 7,
        "api_key": "empresa7-clave-de-prueba",
        "config": {"nombre_bot": "Valeria", "modalidad": "Citas", "frase_saludo": "¡Hola!"},
    }
    body = {name: incoming[source] for name, source in TODAY_FIELD.findall(params["jsonBody"])}
    (header,) = params["headerParameters"]["parameters"]
    with HttpAgent("cita", "flat") as agent:
        agent.state.url = "https://cdn.example.com/bienvenida.jpg"
        app = orchestrator.RunningApp(
            orchestrator.orchestrator_settings(
                tmp_path, LLM_MODE="offline", API_KEYS="n8n-test-key-0001", AGENT_CITA_URL=agent.url
            )
        ).start()
        try:
            response = app.client.post(
                "/api/agent/chat", json=body, headers={header["name"]: "n8n-test-key-0001"}
            )
        finally:
            app.stop()
        got = agent.last_body()
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["session_id"] == 51987654321 and answer["agent_used"] == "cita"
    assert answer["url"] == "https://cdn.example.com/bienvenida.jpg"
    respond = node(today, "respondToWebhook")["parameters"]["responseBody"]
    assert all(source in answer for _, source in TODAY_FIELD.findall(respond))
    assert (got["api_key"], got["id_empresa"], got["session_id"]) == (
        "empresa7-clave-de-prueba",
        7,
        51987654321,
    )
    assert got["config"]["modalidad"] == "Citas"
