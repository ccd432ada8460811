"""The turn's final reply: cleaned and bounded to MAX_REPLY_CHARS before it is sent or stored."""

from graph.deps import GraphDeps
from graph.text_clean import clean_text

ELLIPSIS = "…"


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


def final_reply(text: str, deps: GraphDeps) -> str:
    """The reply cleaned of unsafe characters and cut to `deps.max_reply_chars` (cuts counted)."""
    cleaned = clean_text(text)
    bounded = bound_text(cleaned, deps.max_reply_chars)
    if bounded is not cleaned:
        deps.events.reply_truncated()
    return bounded
