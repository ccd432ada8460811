"""Fixtures: an HTTP agent that counts its calls, the OpenAI stub routing every turn to it, and
a helper sending a burst of messages on their own connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from harness.http_agent import HttpAgent
from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import chat_body, model_settings


@pytest.fixture(scope="module")
def venta_module() -> Iterator[HttpAgent]:
    with HttpAgent("venta", "flat") as agent:
        yield agent


@pytest.fixture
def venta(venta_module: HttpAgent) -> HttpAgent:
    """The plain-HTTP venta agent, its record of calls empty."""
    venta_module.state.reset()
    return venta_module


@pytest.fixture
def routed(openai_stub: OpenAIStub, venta: HttpAgent) -> dict[str, Any]:
    """Settings of an app whose model router (the real ChatOpenAI on the stub) delegates every
    turn to venta."""
    openai_stub.set_handler(lambda req: route_json("delegate", "venta", intent="delegate"))
    return {
        **model_settings(openai_stub),
        "AGENT_VENTA_URL": venta.url,
        "AGENT_VENTA_PROTOCOL": "http",
    }


@dataclass
class Sent:
    """One message sent in its own thread: its request id and, once answered, the response."""

    message: str
    request_id: str
    response: httpx.Response | None = None
    done_at: int | None = None
    """The order in which the answers came (0 first)."""


@dataclass
class Burst:
    """Messages sent to one or more orchestrators, each on its own connection and thread."""

    session: Any
    sent: list[Sent] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    _order: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, url: str, message: str, path: str = "/api/agent/chat") -> Sent:
        item = Sent(message, f"req-{len(self.sent)}-{time.monotonic_ns()}")
        self.sent.append(item)

        sending = threading.Event()

        def post() -> None:
            hooks = {"request": [lambda _: sending.set()]}
            with httpx.Client(
                base_url=url, timeout=120, trust_env=False, event_hooks=hooks
            ) as client:
                response = client.post(
                    path,
                    json=chat_body(message, self.session),
                    headers={"x-request-id": item.request_id, "connection": "close"},
                )
            with self._lock:
                item.done_at = len(self._order)
                self._order.append(len(self.sent))
                item.response = response

        thread = threading.Thread(target=post, daemon=True)
        thread.start()
        self.threads.append(thread)
        sending.wait(30)  # its request is on its way before the caller sends the next one
        return item

    def wait(self, timeout: float = 120) -> list[Sent]:
        for thread in self.threads:
            thread.join(timeout)
        assert all(item.response is not None for item in self.sent)
        return self.sent


def wait_until(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.02)
