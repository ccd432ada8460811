"""The errors that mean the model call failed (the turn falls back), as opposed to a bug."""

import traceback

import httpx
import openai
from langchain_core.exceptions import OutputParserException
from pydantic import ValidationError

MODEL_ERRORS: tuple[type[BaseException], ...] = (
    openai.OpenAIError,
    httpx.HTTPError,
    OutputParserException,
    ValidationError,
    TimeoutError,
)

_CLIENT = ("openai", "langchain_openai", "httpx", "httpcore", "h11")
"""The model client's packages: what they raise while sending or reading is the model's fault."""
_OURS = ("graph", "server", "harness", "mcp_agents")


def _package(module: str) -> str:
    return module.split(".", 1)[0]


def is_model_failure(exc: BaseException) -> bool:
    """True for MODEL_ERRORS, and for any other exception the model client raised itself while
    sending the request or reading the answer: an HTML page for JSON (AttributeError), an
    empty `choices` (IndexError), a JSON too deep to decode (RecursionError), a key that
    cannot go in an HTTP header (UnicodeEncodeError). The deepest frame of the client's or of
    ours decides, so a bug of ours called back by the client stays a bug."""
    if isinstance(exc, MODEL_ERRORS):
        return True
    for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
        package = _package(str(frame.f_globals.get("__name__", "")))
        if package in _OURS:
            return False
        if package in _CLIENT:
            return True
    return False
