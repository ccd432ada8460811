"""The same phone at two companies is two conversations: prompts, /memory, clear, limits."""

from __future__ import annotations

from typing import Any

from harness.http_agent import HttpAgent
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings
from tests.n8n.helpers import SESSION, agent_env, post, today_body

SECRET_7 = "quiero el plan premium de la empresa siete"
SECRET_9 = "¿hacen envíos a Arequipa?"


def _prompt_text(req: dict[str, Any]) -> str:
    return "\n".join(str(message.get("content")) for message in req["messages"])


def test_same_phone_at_two_companies_is_two_conversations(
    start_app: StartApp, openai_stub: OpenAIStub, cita: HttpAgent, storage: dict[str, Any]
) -> None:
    app = start_app(**agent_env({"cita": cita}), **model_settings(openai_stub), **storage)
    openai_stub.set_handler(lambda req: route_json("respond", reply="Claro.", intent="business"))

    assert post(app, today_body(SECRET_7, id_empresa=7)).status_code == 200
    assert post(app, today_body(SECRET_9, id_empresa=9)).status_code == 200
    assert post(app, today_body("¿y el precio?", id_empresa=7)).status_code == 200
    first_9, second_7 = openai_stub.requests[1], openai_stub.requests[2]
    # company 9's router prompt holds nothing of the customer's chat with company 7 …
    assert SECRET_7 not in _prompt_text(first_9) and SECRET_9 in _prompt_text(first_9)
    # … while company 7's next prompt holds its own history, and nothing of company 9's
    assert SECRET_7 in _prompt_text(second_7) and SECRET_9 not in _prompt_text(second_7)

    # /memory: one id, two companies
    ambiguous = app.client.get(f"/memory/sessions/{SESSION}")
    assert ambiguous.status_code == 400 and "id_empresa" in ambiguous.json()["detail"]
    seven = app.client.get(f"/memory/sessions/{SESSION}", params={"id_empresa": 7}).json()
    nine = app.client.get(f"/memory/sessions/{SESSION}", params={"id_empresa": "9"}).json()
    assert (seven["session_id"], seven["id_empresa"], seven["turns"]) == (str(SESSION), 7, 2)
    assert (nine["session_id"], nine["id_empresa"], nine["turns"]) == (str(SESSION), 9, 1)
    assert [m["content"] for m in nine["messages"] if m["role"] == "user"] == [SECRET_9]
    assert SECRET_9 not in str(seven) and SECRET_7 not in str(nine)
    assert app.client.get("/memory/stats", params={"id_empresa": 9}).json() == {
        "total_sessions": 1,
        "sessions": {str(SESSION): 1},
        "id_empresa": 9,
    }
    stats = app.client.get("/memory/stats").json()
    assert stats["total_sessions"] == 2
    assert stats["companies"] == {"7": {str(SESSION): 2}, "9": {str(SESSION): 1}}
    assert stats["sessions"] == {str(SESSION): 3} and stats["unscoped"] == {}
    bad = app.client.get("/memory/stats", params={"id_empresa": "siete"})
    assert bad.status_code == 400 and "id_empresa" in bad.json()["detail"]

    # clear: ambiguous without the company; with it, only that company's conversation
    refused = app.client.post(f"/memory/clear/{SESSION}")
    assert refused.status_code == 400 and "id_empresa" in refused.json()["detail"]
    cleared = app.client.post(f"/memory/clear/{SESSION}", params={"id_empresa": 9})
    assert cleared.status_code == 200, cleared.text
    missing = app.client.get(f"/memory/sessions/{SESSION}", params={"id_empresa": 9})
    assert missing.status_code == 404
    only = app.client.get(f"/memory/sessions/{SESSION}")  # one company holds it now
    assert only.status_code == 200 and only.json()["id_empresa"] == 7
    assert only.json()["turns"] == 2


def test_agents_receive_the_customers_own_session_id(
    start_app: StartApp, openai_stub: OpenAIStub, cita: HttpAgent
) -> None:
    app = start_app(**agent_env({"cita": cita}), **model_settings(openai_stub))
    openai_stub.set_handler(lambda req: route_json("delegate", "cita"))
    for company in (7, 9):
        r = post(app, today_body("Quiero agendar una cita", id_empresa=company))
        assert r.json()["agent_used"] == "cita", r.text
    # the phone, as the agent uses it; the company beside it; two conversations of one turn
    assert [c["body"]["session_id"] for c in cita.calls] == [SESSION, SESSION]
    assert [c["body"]["id_empresa"] for c in cita.calls] == [7, 9]
    for company in (7, 9):
        stored = app.client.get(f"/memory/sessions/{SESSION}", params={"id_empresa": company})
        assert stored.json()["turns"] == 1


def test_the_per_session_rate_limit_counts_each_company_apart(
    start_app: StartApp, storage: dict[str, Any]
) -> None:
    app = start_app(LLM_MODE="offline", SESSION_RATE_LIMIT_PER_MINUTE=2, **storage)
    for _ in range(2):
        assert post(app, today_body("hola", id_empresa=7)).status_code == 200
    assert post(app, today_body("hola", id_empresa=7)).status_code == 429
    assert post(app, today_body("hola", id_empresa=9)).status_code == 200  # its own conversation


def test_global_scope_keeps_the_old_shared_conversation(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline", SESSION_SCOPE="global")
    assert post(app, today_body("hola", id_empresa=7)).status_code == 200
    assert post(app, today_body("hola otra vez", id_empresa=9)).status_code == 200
    stored = app.client.get(f"/memory/sessions/{SESSION}").json()
    assert (stored["id_empresa"], stored["turns"]) == (None, 2)
    assert app.client.get("/memory/stats").json()["unscoped"] == {str(SESSION): 2}


def test_a_session_id_with_a_line_break_can_be_read_and_cleared(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline")
    assert post(app, today_body("hola", "linea\nnueva")).status_code == 200
    read = app.client.get("/memory/sessions/linea%0Anueva")
    assert read.status_code == 200 and read.json()["session_id"] == "linea\nnueva"
    cleared = app.client.post("/memory/clear/linea%0Anueva", params={"id_empresa": 7})
    assert cleared.status_code == 200, cleared.text
    assert app.client.get("/memory/sessions/linea%0Anueva").status_code == 404
