"""Fixtures: a real webhook receiver on a loopback port and the settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.orchestrator import chat_body
from harness.webhook_receiver import Delivery, WebhookReceiver
from server.webhooks.signing import verify

SECRET = "secreto-de-prueba-webhooks"
ASYNC = {"Prefer": "respond-async"}
BOOK = "quiero reservar una mesa para 4"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A receiver answering 200 (script others with `receiver.answer(503, 503)`)."""
    with WebhookReceiver() as hook:
        yield hook


def hook_settings(receiver: WebhookReceiver, **extra: Any) -> dict[str, Any]:
    """Settings delivering replies to `receiver`, with quick retries."""
    return {
        "REPLY_WEBHOOK_URL": receiver.url,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_RETRY_BASE_SECONDS": 0.2,
        "WEBHOOK_TIMEOUT": 5,
        "LLM_MODE": "offline",
        **extra,
    }


def post_async(
    client: httpx.Client, message: str = BOOK, session_id: Any = "s1", **config: Any
) -> httpx.Response:
    """One chat turn with `Prefer: respond-async`."""
    return client.post(
        "/api/agent/chat", json=chat_body(message, session_id, **config), headers=ASYNC
    )


def signed(delivery: Delivery) -> bool:
    """True when the delivery's signature matches its exact body bytes under SECRET."""
    return verify(SECRET, delivery.body, delivery.headers.get("x-orquestador-signature"))
