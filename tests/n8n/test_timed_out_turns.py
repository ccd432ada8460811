"""A turn that runs out of time is stored exactly like any other turn: its messages in /memory,
the session's total_turns counter and the history bound (MAX_HISTORY_TURNS)."""

from __future__ import annotations

from typing import Any

from harness.http_agent import HttpAgent
from harness.orchestrator import StartApp
from tests.n8n.helpers import SESSION, agent_env, post, today_body

FALLBACK = "Déjame consultarlo con el equipo."


def memory(app: Any) -> dict[str, Any]:
    r = app.client.get(f"/memory/sessions/{SESSION}")
    assert r.status_code == 200, r.text
    return r.json()


def pairs(view: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(m["role"], m["content"], m["agent"]) for m in view["messages"]]


def test_timed_out_turns_are_stored_like_any_other(
    start_app: StartApp, agents: dict[str, HttpAgent]
) -> None:
    app = start_app(
        **agent_env(agents),
        TURN_TIMEOUT=1,
        SESSION_LOCK_TIMEOUT=3,
        MAX_HISTORY_TURNS=2,
        LLM_MODE="offline",
        ROUTING_MODE="direct",
    )
    # 1: the agent answers
    r = post(app, today_body("Quiero una cita"))
    assert (r.status_code, r.json()["agent_used"]) == (200, "cita"), r.text
    answered = r.json()["reply"]
    view = memory(app)
    assert (view["turns"], view["total_turns"], view["active_agent"]) == (1, 1, "cita")

    # 2: the agent is slower than the turn's deadline: the fallback, stored as a turn
    agents["cita"].state.delay = 3
    r = post(app, today_body("¿Para el lunes?"))
    assert r.status_code == 200, r.text
    assert (r.json()["reply"], r.json()["action"], r.json()["agent_used"]) == (
        FALLBACK,
        "respond",
        None,
    )
    view = memory(app)
    assert (view["turns"], view["total_turns"]) == (2, 2)
    assert pairs(view) == [
        ("user", "Quiero una cita", None),
        ("assistant", answered, "cita"),
        ("user", "¿Para el lunes?", None),
        ("assistant", FALLBACK, "orquestador"),
    ]

    # 3: timed out again: the history keeps the last 2 turns, the counter counts all 3
    r = post(app, today_body("¿Sigues ahí?"))
    assert r.json()["reply"] == FALLBACK
    view = memory(app)
    assert (view["turns"], view["total_turns"]) == (2, 3)
    assert pairs(view) == [
        ("user", "¿Para el lunes?", None),
        ("assistant", FALLBACK, "orquestador"),
        ("user", "¿Sigues ahí?", None),
        ("assistant", FALLBACK, "orquestador"),
    ]
    assert app.metrics()["turn_timeouts"] == 2

    # 4: the agent is quick again: an ordinary turn follows on the same bounds
    agents["cita"].state.delay = 0
    r = post(app, today_body("Entonces el martes"))
    assert (r.status_code, r.json()["agent_used"]) == (200, "cita"), r.text
    view = memory(app)
    assert (view["turns"], view["total_turns"]) == (2, 4)
    assert [m["content"] for m in view["messages"] if m["role"] == "user"] == [
        "¿Sigues ahí?",
        "Entonces el martes",
    ]
    # each stored user message once: a timed-out turn never doubles its message
    assert app.client.get("/memory/stats").json()["sessions"][str(SESSION)] == 2
