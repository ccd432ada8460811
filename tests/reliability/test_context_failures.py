"""A failing or hanging business-context service costs one timeout per company per FAILURE_TTL."""

from __future__ import annotations

import time

from harness.context_server import ContextServer
from harness.orchestrator import StartApp

FAILURE_TTL = 10
"""Long enough for ten turns under load; the recovery check waits it out."""


def test_hanging_context_costs_one_timeout_for_ten_turns(
    start_app: StartApp, context_server: ContextServer
) -> None:
    context_server.set_delay(30)  # hangs far past the timeout
    app = start_app(
        LLM_MODE="offline",
        CONTEXTO_NEGOCIO_ENDPOINT=context_server.url,
        CONTEXTO_NEGOCIO_TIMEOUT=1,
        CONTEXTO_NEGOCIO_FAILURE_TTL=FAILURE_TTL,
    )
    started = time.monotonic()
    first = app.chat("hola", "ctx-0", id_empresa=41)
    failed_at = time.monotonic()
    assert first.status_code == 200 and failed_at - started >= 1  # waited for the timeout once
    for i in range(1, 10):
        assert app.chat("hola", f"ctx-{i}", id_empresa=41).status_code == 200
    # one fetch for ten turns: none of the others asked (a turn waits only on its own fetch)
    assert context_server.calls_by_id["41"] == 1
    # another company is fetched on its own
    context_server.set_delay(0)
    app.chat("hola", "ctx-other", id_empresa=42)
    assert context_server.calls_by_id["42"] == 1
    # recovery is picked up once the failure is forgotten
    time.sleep(max(0.0, failed_at + FAILURE_TTL + 0.2 - time.monotonic()))
    assert app.chat("hola", "ctx-10", id_empresa=41).status_code == 200
    assert context_server.calls_by_id["41"] == 2  # fetched again, and answered this time
