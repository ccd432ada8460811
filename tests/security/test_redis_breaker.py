"""A hung Redis (accepts connections, never answers) does not slow turns down: the rate limiter's
breaker opens after a few timeouts, limits count per process, and /metrics and a warning say so."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.orchestrator import StartApp
from server.security.limit_store import BREAKER_THRESHOLD
from server.settings import Settings

LIMITS = {
    "RATE_LIMIT_PER_MINUTE": Settings.model_fields["RATE_LIMIT_PER_MINUTE"].default,
    "SESSION_RATE_LIMIT_PER_MINUTE": Settings.model_fields["SESSION_RATE_LIMIT_PER_MINUTE"].default,
}


class SilentListener:
    """A TCP listener on loopback that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True, name="silent-redis")
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)  # held open, never read from, never answered

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
        self._sock.close()


@pytest.fixture
def silent_redis() -> Iterator[SilentListener]:
    listener = SilentListener()
    yield listener
    listener.close()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_hung_redis_opens_the_breaker_and_turns_keep_their_pace(
    start_app: StartApp, tmp_path: Path, silent_redis: SilentListener
) -> None:
    handler = Records()
    logger = logging.getLogger("server.security.limit_store")
    logger.addHandler(handler)
    try:
        hung = start_app(
            LLM_MODE="offline",
            REDIS_URL=f"redis://127.0.0.1:{silent_redis.port}/0",
            CHECKPOINT_DB=str(tmp_path / "hung.sqlite"),
            **LIMITS,
        )
        plain = start_app(
            LLM_MODE="offline", CHECKPOINT_DB=str(tmp_path / "plain.sqlite"), **LIMITS
        )
        assert silent_redis.accepted, "the app never connected to the silent listener"
        # the first decisions wait on Redis (REDIS_TIMEOUT each) until the breaker opens
        for i in range(BREAKER_THRESHOLD):
            hung.chat("hola", f"warm-{i}")
        storage = hung.metrics()["rate_limit_storage"]
        assert storage["backend"] == "redis" and storage["breaker"] == "open", storage
        assert storage["storage_errors"] == BREAKER_THRESHOLD, storage

        # then no turn waits on Redis: a wait would end in a REDIS_TIMEOUT counted as a storage
        # error; and 20 turns take less than the 20 timeouts they would have sat out
        started = time.perf_counter()
        for i in range(20):
            assert hung.chat("hola", f"s-{i}").status_code == 200
        assert time.perf_counter() - started < 20 * hung.settings.REDIS_TIMEOUT
        for i in range(20):
            assert plain.chat("hola", f"s-{i}").status_code == 200

        after = hung.metrics()["rate_limit_storage"]
        assert after["breaker"] == "open" and after["storage_errors"] == BREAKER_THRESHOLD
        assert after["fallbacks"] >= 2 * 20  # client + session decision of every later turn
        prom = hung.client.get("/metrics/prometheus").text
        assert "orquestador_rate_limit_breaker_state 2.0" in prom
        assert f"orquestador_rate_limit_storage_errors_total {BREAKER_THRESHOLD}.0" in prom
        plain_prom = plain.client.get("/metrics/prometheus").text
        assert "orquestador_rate_limit_breaker_state 0.0" in plain_prom
        assert plain.metrics()["rate_limit_storage"]["backend"] == "memory"
    finally:
        logger.removeHandler(handler)
    warnings = [r.getMessage() for r in handler.records if r.levelno == logging.WARNING]
    assert any("slow or down" in w for w in warnings), warnings
    assert str(silent_redis.port) not in " ".join(warnings)  # no URL in the log


def test_limits_still_hold_per_process_while_the_breaker_is_open(
    start_app: StartApp, silent_redis: SilentListener
) -> None:
    app = start_app(
        LLM_MODE="offline",
        REDIS_URL=f"redis://127.0.0.1:{silent_redis.port}/0",
        REDIS_TIMEOUT=0.1,
        RATE_LIMIT_PER_MINUTE=0,
        SESSION_RATE_LIMIT_PER_MINUTE=BREAKER_THRESHOLD + 2,
    )
    for _ in range(BREAKER_THRESHOLD + 2):
        assert app.chat("hola", "loop").status_code == 200
    assert app.metrics()["rate_limit_storage"]["breaker"] == "open"
    limited = app.chat("hola", "loop")
    assert limited.status_code == 429 and "conversación" in limited.json()["detail"]
    assert app.metrics()["rate_limited"] == 1
