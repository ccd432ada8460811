"""The secrets of the turn being run (a company's own key), masked in every log line it writes."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from graph.secret_mask import MIN_SECRET_CHARS

current_turn_secrets: ContextVar[tuple[str, ...]] = ContextVar("turn_secrets", default=())
"""Read by the log formatter; set per turn, so tasks the turn starts inherit it."""


@contextmanager
def masked_in_logs(secret: str | None) -> Iterator[None]:
    """While the block runs (and in tasks it starts), log lines show `secret` as ***."""
    if secret is None or len(secret) < MIN_SECRET_CHARS:
        yield
        return
    token = current_turn_secrets.set((*current_turn_secrets.get(), secret))
    try:
        yield
    finally:
        current_turn_secrets.reset(token)
