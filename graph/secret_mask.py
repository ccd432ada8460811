"""A company's key echoed back in a reply (by an agent or a model) shown as *** instead."""

MASK = "***"
MIN_SECRET_CHARS = 6
"""Shorter values are not masked (they would blank ordinary words; no real key is that short)."""


def mask_secret(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced by ***."""
    if not secret or len(secret) < MIN_SECRET_CHARS or secret not in text:
        return text
    return text.replace(secret, MASK)


class StreamMasker:
    """Masks `secret` in text that arrives in pieces (live tokens): a piece ending in what may be
    the start of the secret is held back until the next piece shows whether it is."""

    def __init__(self, secret: str | None) -> None:
        self._secret = secret if secret and len(secret) >= MIN_SECRET_CHARS else None
        self._held = ""

    def feed(self, piece: str) -> str:
        """The text that can be sent now (possibly empty); the rest waits for the next piece."""
        secret = self._secret
        if secret is None:
            return piece
        text = (self._held + piece).replace(secret, MASK)
        keep = _prefix_overlap(text, secret)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]


def _prefix_overlap(text: str, secret: str) -> int:
    """The length of the longest end of `text` that is a proper beginning of `secret`."""
    for size in range(min(len(text), len(secret) - 1), 0, -1):
        if secret.startswith(text[-size:]):
            return size
    return 0
