"""A conversation stored under the bare session id (before SESSION_SCOPE=company) is taken over by
exactly one company, once, also when two app instances race on one database."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.orchestrator import RunningApp, StartApp
from tests.n8n.helpers import post, today_body

PHONES = [f"5198765{i:04d}" for i in range(8)]


def _old_conversations(start_app: StartApp, storage: dict[str, Any], phones: list[str]) -> None:
    """Two turns per phone stored the old way (global scope: under the bare session id)."""
    old = start_app(LLM_MODE="offline", SESSION_SCOPE="global", **storage)
    for phone in phones:
        assert post(old, today_body("hola", phone, id_empresa=7)).status_code == 200
        assert post(old, today_body("mi pedido de ayer", phone, id_empresa=7)).status_code == 200
    assert old.client.get("/memory/stats").json()["unscoped"] == dict.fromkeys(phones, 2)
    old.stop()


def _turns(app: RunningApp, phone: str, company: int) -> int:
    r = app.client.get(f"/memory/sessions/{phone}", params={"id_empresa": company})
    return r.json()["total_turns"] if r.status_code == 200 else 0


def test_the_first_company_turn_adopts_the_bare_conversation(
    start_app: StartApp, storage: dict[str, Any]
) -> None:
    phone = PHONES[0]
    _old_conversations(start_app, storage, [phone])
    app = start_app(LLM_MODE="offline", **storage)
    assert post(app, today_body("¿y cuándo llega?", phone, id_empresa=7)).status_code == 200
    stored = app.client.get(f"/memory/sessions/{phone}", params={"id_empresa": 7}).json()
    users = [m["content"] for m in stored["messages"] if m["role"] == "user"]
    assert users == ["hola", "mi pedido de ayer", "¿y cuándo llega?"]  # the old history kept
    assert stored["total_turns"] == 3
    # taken over, not copied: the bare conversation is gone; another company starts fresh
    assert post(app, today_body("hola", phone, id_empresa=9)).status_code == 200
    assert _turns(app, phone, 9) == 1
    stats = app.client.get("/memory/stats").json()
    assert stats["unscoped"] == {} and stats["total_sessions"] == 2
    # a later turn of the adopting company continues its conversation
    assert post(app, today_body("gracias", phone, id_empresa=7)).status_code == 200
    assert _turns(app, phone, 7) == 4


def test_two_instances_racing_adopt_each_bare_conversation_once(
    start_app: StartApp, storage: dict[str, Any]
) -> None:
    _old_conversations(start_app, storage, PHONES)
    first = start_app(LLM_MODE="offline", **storage)
    second = start_app(LLM_MODE="offline", **storage)
    barrier = threading.Barrier(2 * len(PHONES))

    def turn(app: RunningApp, phone: str, company: int) -> tuple[int, str]:
        barrier.wait(timeout=60)
        r = post(app, today_body("hola de nuevo", phone, id_empresa=company))
        return r.status_code, r.text

    with ThreadPoolExecutor(2 * len(PHONES)) as pool:
        statuses = list(
            pool.map(
                lambda job: turn(*job),
                [(first, phone, 7) for phone in PHONES] + [(second, phone, 9) for phone in PHONES],
            )
        )
    assert [status for status, _ in statuses] == [200] * (2 * len(PHONES)), statuses
    for phone in PHONES:
        # exactly one company holds the two old turns plus its new one; the other only its own
        turns = sorted([_turns(first, phone, 7), _turns(second, phone, 9)])
        assert turns == [1, 3], (phone, turns)
    stats = first.client.get("/memory/stats").json()
    assert stats["unscoped"] == {} and stats["total_sessions"] == 2 * len(PHONES)


def test_one_company_on_two_instances_adopts_once(
    start_app: StartApp, storage: dict[str, Any]
) -> None:
    _old_conversations(start_app, storage, PHONES[:4])
    first = start_app(LLM_MODE="offline", **storage)
    second = start_app(LLM_MODE="offline", **storage)
    barrier = threading.Barrier(8)

    def turn(app: RunningApp, phone: str) -> tuple[int, str]:
        barrier.wait(timeout=60)
        r = post(app, today_body("sigo aquí", phone, id_empresa=7))
        return r.status_code, r.text

    jobs = [(app, phone) for phone in PHONES[:4] for app in (first, second)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        statuses = list(pool.map(lambda job: turn(*job), jobs))
    assert [status for status, _ in statuses] == [200] * len(jobs), statuses
    for phone in PHONES[:4]:
        assert _turns(first, phone, 7) == 4  # 2 adopted + the 2 racing turns, none lost or doubled
    assert first.client.get("/memory/stats").json()["unscoped"] == {}


def test_clearing_a_companys_conversation_also_clears_what_it_would_adopt(
    start_app: StartApp, storage: dict[str, Any]
) -> None:
    phone = PHONES[0]
    _old_conversations(start_app, storage, [phone])
    app = start_app(LLM_MODE="offline", **storage)
    r = app.client.post(f"/memory/clear/{phone}", params={"id_empresa": 7})
    assert r.status_code == 200, r.text
    assert post(app, today_body("hola", phone, id_empresa=7)).status_code == 200
    assert _turns(app, phone, 7) == 1  # starts fresh
    assert app.client.get("/memory/stats").json()["unscoped"] == {}


def test_no_adoption_in_global_scope(start_app: StartApp) -> None:
    phone = PHONES[0]
    _old_conversations(start_app, {}, [phone])
    app = start_app(LLM_MODE="offline", SESSION_SCOPE="global")
    assert post(app, today_body("sigo", phone, id_empresa=9)).status_code == 200
    stored = app.client.get(f"/memory/sessions/{phone}").json()
    assert (stored["id_empresa"], stored["total_turns"]) == (None, 3)


def test_a_bare_conversation_idle_past_the_ttl_is_not_adopted(
    start_app: StartApp, storage: dict[str, Any]
) -> None:
    phone = PHONES[0]
    _old_conversations(start_app, storage, [phone])
    time.sleep(1.5)  # the old conversation is now idle past a 1 s TTL
    app = start_app(LLM_MODE="offline", SESSION_TTL_SECONDS=1, **storage)
    assert post(app, today_body("hola", phone, id_empresa=7)).status_code == 200
    assert _turns(app, phone, 7) == 1  # starts fresh: nothing expired is revived
