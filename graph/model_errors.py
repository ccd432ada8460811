"""The errors that mean the model call failed (the turn falls back), as opposed to a bug."""

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
