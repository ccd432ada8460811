"""The webhook signature: HMAC-SHA256 of the exact body bytes, sent as `sha256=<hex>`."""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Orquestador-Signature"
DELIVERY_HEADER = "X-Orquestador-Delivery"
PREFIX = "sha256="


def signature(secret: str, body: bytes) -> str:
    """The X-Orquestador-Signature value of `body` under `secret`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{PREFIX}{digest}"


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the signature of `body` (constant-time comparison)."""
    if not header:
        return False
    return hmac.compare_digest(signature(secret, body), header.strip())
