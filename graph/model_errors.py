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

_CLIENT = (
    "openai",
    "langchain_openai",
    "httpx",
    "httpcore",
    "h11",
    "langchain_core.language_models",  # reads the model's generations (choices[0])
    "langchain_core.output_parsers",  # parses the model's structured output
)
"""The model client's modules: what they raise while sending or reading is the model's fault."""
_OURS = ("graph", "server", "harness", "mcp_agents")


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in packages)


def is_model_failure(exc: BaseException) -> bool:
    """True for MODEL_ERRORS, and for any other exception the model client raised itself while
    sending the request or reading the answer: an HTML page for JSON (AttributeError), an
    empty `choices` (IndexError), a JSON too deep to decode (RecursionError), a key that
    cannot go in an HTTP header (UnicodeEncodeError). The deepest frame of the client's or of
    ours decides, so a bug of ours called back by the client stays a bug."""
    if isinstance(exc, MODEL_ERRORS):
        return True
    for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
        module = str(frame.f_globals.get("__name__", ""))
        if _within(module, _OURS):
            return False
        if _within(module, _CLIENT):
            return True
    return False
