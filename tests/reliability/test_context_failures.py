"""A failing or hanging business-context service costs one timeout per company per FAILURE_TTL."""

from __future__ import annotations

import time

from harness.context_server import ContextServer
from harness.orchestrator import StartApp


def test_hanging_context_costs_one_timeout_for_ten_turns(
    start_app: StartApp, context_server: ContextServer
) -> None:
    context_server.set_delay(30)  # hangs far past the timeout
    app = start_app(
        LLM_MODE="offline",
        CONTEXTO_NEGOCIO_ENDPOINT=context_server.url,
        CONTEXTO_NEGOCIO_TIMEOUT=1,
        CONTEXTO_NEGOCIO_FAILURE_TTL=3,
    )
    started = time.monotonic()
    first = app.chat("hola", "ctx-0", id_empresa=41)
    first_took = time.monotonic() - started
    assert first.status_code == 200 and first_took >= 1  # waited for the timeout once
    durations = []
    for i in range(1, 10):
        t0 = time.monotonic()
        assert app.chat("hola", f"ctx-{i}", id_empresa=41).status_code == 200
        durations.append(time.monotonic() - t0)
    assert context_server.calls_by_id["41"] == 1  # one fetch for ten turns
    assert max(durations) < first_took / 2  # none of the others waited for the timeout
    # another company is fetched on its own
    context_server.set_delay(0)
    app.chat("hola", "ctx-other", id_empresa=42)
    assert context_server.calls_by_id["42"] == 1
    # recovery is picked up once the failure is forgotten
    time.sleep(3.2)
    assert app.chat("hola", "ctx-10", id_empresa=41).status_code == 200
    assert context_server.calls_by_id["41"] == 2
    assert context_server.calls_by_id["41"] == 2  # fetched again, and answered this time
