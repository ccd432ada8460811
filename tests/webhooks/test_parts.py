"""The webhook parts without a server: the Prefer header, the signature, backoff and statuses."""

from __future__ import annotations

import hashlib
import hmac

from server.webhooks.delivery import Outcome, backoff, classify, retry_after
from server.webhooks.prefer import wants_async
from server.webhooks.signing import signature, verify


def test_prefer_respond_async_as_rfc_7240_writes_it() -> None:
    assert wants_async(["respond-async"])
    assert wants_async(["Respond-Async"])
    assert wants_async(["return=minimal, respond-async"])
    assert wants_async(["wait=5", "respond-async; x=1"])
    assert not wants_async([])
    assert not wants_async(["return=representation"])
    assert not wants_async(["respond-asynchronously"])
    assert not wants_async(["x=respond-async"])


def test_the_signature_is_hmac_sha256_of_the_exact_bytes() -> None:
    body = '{"reply":"¡Hola!","event":"reply"}'.encode()
    expected = hmac.new(b"clave", body, hashlib.sha256).hexdigest()
    assert signature("clave", body) == f"sha256={expected}"
    assert verify("clave", body, f"sha256={expected}")
    assert not verify("otra", body, f"sha256={expected}")
    assert not verify("clave", body + b" ", f"sha256={expected}")
    assert not verify("clave", body, None)


def test_backoff_doubles_from_the_base() -> None:
    assert [backoff(2, n) for n in range(1, 6)] == [2, 4, 8, 16, 32]
    assert backoff(0.2, 1) == 0.2


def test_which_outcomes_are_retried() -> None:
    assert Outcome(None, "connection").retryable and Outcome(None, "timeout").retryable
    assert Outcome(429, classify(429)).retryable and Outcome(503, classify(503)).retryable
    assert not Outcome(400, classify(400)).retryable
    assert not Outcome(301, classify(301)).retryable and classify(301) == "http_other"
    assert Outcome(204, classify(204)).ok and classify(204) == "ok"


def test_retry_after_is_read_in_seconds_and_bounded() -> None:
    assert retry_after("7") == 7
    assert retry_after(None) == 0 and retry_after("soon") == 0
    assert retry_after("99999") == 600
