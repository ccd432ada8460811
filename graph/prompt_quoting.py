"""Customer and agent text made inert inside a prompt: it cannot open or close the prompt's
blocks (`<historial>`, `<contexto_negocio>`) nor start a line as a speaker (`Asistente:`)."""

import re

# A tag-like marker: an angle bracket (ASCII or a look-alike), an optional slash, a name. Its
# brackets become ‹ › so that no inserted text can read as one of the prompt's own block markers.
_OPEN = "<\uff1c\ufe64\u2329\u27e8\u3008"
_CLOSE = ">\uff1e\ufe65\u232a\u27e9\u3009"
_TAG = re.compile(rf"[{_OPEN}](\s*/?\s*[^\W\d][\w.:\-]*[^{_OPEN}{_CLOSE}]*?)[{_CLOSE}]")
# Every line break a model may read as one: a turn is one line of the history.
_LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
LINE_JOINER = " ⏎ "
"""What stands for a line break inside one quoted turn."""


def neutralise_markers(text: str) -> str:
    """`text` with every tag-like marker's angle brackets turned into ‹ › (content kept)."""
    if not any(c in text for c in _OPEN):
        return text
    return _TAG.sub(lambda m: f"‹{m[1]}›", text)


def quote_turn(text: str) -> str:
    """One turn's text for a speaker line of a prompt: its markers neutralised and its line
    breaks shown as ` ⏎ `, so nothing in it starts a line (a forged `Asistente:`) or a block."""
    return _LINE_BREAKS.sub(LINE_JOINER, neutralise_markers(text))
