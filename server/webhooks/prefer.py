"""The `Prefer` request header (RFC 7240): does the client ask for `respond-async`?"""

from collections.abc import Iterable

RESPOND_ASYNC = "respond-async"


def wants_async(values: Iterable[str]) -> bool:
    """True when any `Prefer` header value holds the `respond-async` preference.

    Preferences are comma-separated, each `token[=value]` with `;`-parameters; tokens are
    case-insensitive (`Prefer: respond-async, wait=10` asks for it)."""
    for value in values:
        for preference in value.split(","):
            token = preference.split(";", 1)[0].split("=", 1)[0].strip().lower()
            if token == RESPOND_ASYNC:
                return True
    return False
