"""The turn's final reply and url: cleaned, the company's key masked, bounded before they are
sent or stored."""

import logging
import re
from urllib.parse import urlsplit

from graph.deps import GraphDeps
from graph.secret_mask import mask_secret
from graph.text_clean import clean_text

log = logging.getLogger(__name__)

ELLIPSIS = "…"
_URL_WHITESPACE = re.compile("[\t\n]")


def bound_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, ending in an ellipsis."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(ELLIPSIS))
    head = text[: room + 1]  # one more: a space right after the limit is a boundary too
    cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if cut <= room // 2:  # no word boundary in the second half: cut inside the word
        cut = room
    return text[:cut].rstrip() + ELLIPSIS


def final_reply(text: str, deps: GraphDeps, secret: str | None = None) -> str:
    """The reply cleaned of unsafe characters, the company's key (`secret`) shown as ***, cut to
    `deps.max_reply_chars` (cuts counted). The key is masked before the cut, so no part of it
    can remain at the end."""
    cleaned = mask_secret(clean_text(text), secret)
    bounded = bound_text(cleaned, deps.max_reply_chars)
    if bounded is not cleaned:
        deps.events.reply_truncated()
    return bounded


def clean_url(url: str) -> str:
    """The url cleaned as replies are, and without tabs, newlines or surrounding spaces (which a
    URL never holds: browsers drop them too)."""
    return _URL_WHITESPACE.sub("", clean_text(url)).strip()


def url_problem(url: str, limit: int) -> str | None:
    """Why a cleaned url cannot be sent: `too_long`, `not_http`; None when it can."""
    if len(url) > limit:
        return "too_long"
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced [ in the host
        return "not_http"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "not_http"
    return None


def final_url(url: str | None, deps: GraphDeps, secret: str | None = None) -> str | None:
    """The agent's url cleaned, its company key masked; None (logged and counted) when it is not
    an http(s) URL of at most `deps.max_url_chars` characters."""
    if url is None:
        return None
    cleaned = mask_secret(clean_url(url), secret)
    if not cleaned:
        return None
    problem = url_problem(cleaned, deps.max_url_chars)
    if problem is None:
        return cleaned
    log.warning("agent url dropped", extra={"url_problem": problem, "url_chars": len(cleaned)})
    deps.events.url_dropped(problem)
    return None
