"""Text made storable and safe at the service's edges: no NUL, lone surrogates or bidi tricks."""

import re

# Removed: C0 controls but \t and \n (\r becomes \n first), DEL and C1 controls, lone UTF-16
# surrogates (unencodable in UTF-8: PostgreSQL rejects them), and the bidi embeddings, overrides
# and isolates that can make a text read differently from what it is ("Trojan Source").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile("\r\n?")
# Characters that show nothing: a text made only of these (and whitespace) is empty.
_INVISIBLE = re.compile("[\\s\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad]*")


def clean_text(text: str) -> str:
    """`text` without NUL, lone surrogates, control characters (but \\n and \\t) or bidi overrides.

    Ordinary Unicode (accents, emoji, right-to-left scripts, joiners) is kept unchanged.
    """
    if "\r" in text:
        text = _NEWLINES.sub("\n", text)
    return _UNSAFE.sub("", text)


def is_storable(text: str) -> bool:
    """True when every backend can store `text` as it is: no NUL, no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_blank(text: str) -> bool:
    """True when the text shows nothing: only whitespace and zero-width characters."""
    return _INVISIBLE.fullmatch(text) is not None


def clean_value(value: object) -> object:
    """Every string inside a JSON-like value cleaned (dict keys too); other values unchanged."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_value(key): clean_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_value(item) for item in value]
    return value
