"""Conversation memory: checkpointed by session_id, bounded, cleared, surviving a restart."""

from __future__ import annotations

import json
import logging
import time

import pytest

from harness.agents import AgentFactory
from harness.context_server import ContextServer
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import StartApp, model_settings
from server.conversations.keys import conversation_key


def test_second_turn_model_request_contains_the_first(
    start_app: StartApp, storage: dict, openai_stub: OpenAIStub
) -> None:
    app = start_app(**storage, **model_settings(openai_stub))
    openai_stub.enqueue(
        route_json("respond", reply="Hola Ana, ¿qué necesitas?"),
        route_json("respond", reply="Claro."),
    )
    app.chat("Hola, me llamo Ana", session_id="m1")
    app.chat("¿recuerdas mi nombre?", session_id="m1")
    second = openai_stub.messages_text(1)
    assert "Cliente: Hola, me llamo Ana\nAsistente: Hola Ana, ¿qué necesitas?" in second
    assert openai_stub.messages(1)[-1]["content"] == "¿recuerdas mi nombre?"
    assert "¿recuerdas mi nombre?" not in openai_stub.messages_text(0)


def test_new_app_on_the_same_store_continues(
    start_app: StartApp, storage: dict, openai_stub: OpenAIStub
) -> None:
    first = start_app(**storage, **model_settings(openai_stub))
    openai_stub.enqueue(route_json("respond", reply="Anotado, Ana."))
    first.chat("soy Ana y quiero pollo", session_id="p1")
    first.stop()
    second = start_app(**storage, **model_settings(openai_stub))
    openai_stub.enqueue(route_json("respond", reply="Sí."))
    second.chat("¿qué pedí?", session_id="p1")
    text = openai_stub.messages_text(-1)
    assert "Cliente: soy Ana y quiero pollo\nAsistente: Anotado, Ana." in text
    assert second.client.get("/memory/stats").json()["sessions"] == {"p1": 2}


def test_history_is_bounded_in_the_stored_state(
    start_app: StartApp, openai_stub: OpenAIStub, storage: dict
) -> None:
    app = start_app(MAX_HISTORY_TURNS=3, **storage, **model_settings(openai_stub))
    openai_stub.set_handler(lambda req: route_json("respond", reply="ok"))
    for i in range(9):
        assert app.chat(f"mensaje número {i}", session_id="b1").status_code == 200
    assert app.client.get("/memory/stats").json()["sessions"] == {"b1": 3}
    messages = openai_stub.last_request()["messages"]
    history = [line for line in messages[1]["content"].splitlines() if line.startswith("Cliente:")]
    # the model sees the 3 stored turns plus the current message
    assert history == [f"Cliente: mensaje número {i}" for i in (5, 6, 7)]
    assert messages[-1]["content"] == "mensaje número 8"
    size, rows = app.call(
        app.services.backend.ops.thread_bytes(conversation_key(12, "b1", "company"))
    )
    assert rows == 1 and size > 0  # older checkpoints pruned


def test_stats_count_turns_and_clear_empties_a_session(start_app: StartApp, storage: dict) -> None:
    app = start_app(LLM_MODE="offline", **storage)
    for _ in range(3):
        app.chat("hola", session_id="c1")
    app.chat("hola", session_id="c2")
    stats = app.client.get("/memory/stats").json()
    assert stats["total_sessions"] == 2 and stats["sessions"] == {"c1": 3, "c2": 1}
    assert stats["companies"] == {"12": {"c1": 3, "c2": 1}} and stats["unscoped"] == {}
    r = app.client.post("/memory/clear/c1")
    assert r.json() == {"message": "Memoria limpiada para session_id: c1"}
    stats = app.client.get("/memory/stats").json()
    assert stats["total_sessions"] == 1 and stats["sessions"] == {"c2": 1}
    app.chat("hola", session_id="c1")
    assert app.client.get("/memory/stats").json()["sessions"]["c1"] == 1


def test_business_context_is_cached_per_company(
    start_app: StartApp, openai_stub: OpenAIStub, context_server: ContextServer
) -> None:
    context_server.set_context(12, "Aceptamos Yape y Plin.")
    app = start_app(CONTEXTO_NEGOCIO_ENDPOINT=context_server.url, **model_settings(openai_stub))
    openai_stub.set_handler(lambda req: route_json("respond", reply="ok"))
    app.chat("hola", session_id="k1")
    app.chat("aceptan yape?", session_id="k2")
    assert context_server.calls == 1
    assert "Aceptamos Yape y Plin." in openai_stub.messages_text(-1)
    app.chat("hola", session_id="k3", id_empresa=99)
    assert context_server.calls == 2


def test_slow_business_context_is_skipped_within_its_timeout(
    start_app: StartApp, openai_stub: OpenAIStub, context_server: ContextServer
) -> None:
    context_server.delay = 20  # far past the 0.5 s timeout
    app = start_app(
        CONTEXTO_NEGOCIO_ENDPOINT=context_server.url,
        CONTEXTO_NEGOCIO_TIMEOUT=0.5,
        **model_settings(openai_stub),
    )
    openai_stub.set_handler(lambda req: route_json("respond", reply="ok"))
    started = time.monotonic()
    r = app.chat("hola", session_id="s1")
    assert r.status_code == 200 and r.json()["reply"] == "ok"
    assert "(sin información)" in openai_stub.messages_text(-1)  # routed without it
    assert time.monotonic() - started < context_server.delay / 2  # it did not wait for it


def test_unreachable_business_context_does_not_break_the_turn(start_app: StartApp) -> None:
    app = start_app(LLM_MODE="offline", CONTEXTO_NEGOCIO_ENDPOINT="http://127.0.0.1:9/ctx")
    assert app.chat("hola", session_id="u1").status_code == 200


def test_user_text_and_config_are_absent_from_info_logs(
    start_app: StartApp,
    chat_agent: AgentFactory,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = chat_agent("reserva")
    app = start_app(agents={"reserva": agent.url}, LLM_MODE="offline")
    secret_text = "mi correo es ana.perez@example.com y mi celular 987654321"
    with caplog.at_level(logging.INFO):
        app.chat(
            "quiero reservar una mesa para 4",
            session_id="51911122233",
            frase_saludo="FRASE-SECRETA-XYZ",
        )
        app.chat(secret_text, session_id="51911122233")
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(line["message"] == "turn" for line in lines)
    for needle in (
        "ana.perez@example.com",
        "987654321",
        "51911122233",
        "quiero reservar",
        "FRASE-SECRETA-XYZ",
        "mi correo",
    ):
        assert needle not in out
    for line in lines:
        assert set(line) >= {"timestamp", "level", "logger", "message", "extra_fields"}
        assert "+" in line["timestamp"] or line["timestamp"].endswith("Z")
