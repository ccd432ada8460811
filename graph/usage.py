"""Tokens a turn spent: every model call's usage (a LangChain callback) and agents' reported
usage, summed per model and per agent."""

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult

UNKNOWN_MODEL = "unknown"


@dataclass
class Tokens:
    """Input and output tokens (prompt and completion)."""

    input: int = 0
    output: int = 0

    def add(self, input_tokens: int, output_tokens: int) -> None:
        """Add one call's counts."""
        self.input += input_tokens
        self.output += output_tokens


class TurnUsage(BaseCallbackHandler):
    """One turn's token counts: pass it in the run config's callbacks (every chat model call of
    the turn reports to it, streamed or not) and in the TurnContext (agents' usage)."""

    run_inline = True  # a few additions: no thread hop per model call

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.models: dict[str, Tokens] = {}
        """Per model name as the provider answered it."""
        self.agents: dict[str, Tokens] = {}
        """Per agent: the `usage` object of its HTTP answers."""
        self.model_calls = 0

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Add a model call's usage_metadata (the provider's usage fields)."""
        for generations in response.generations:
            for generation in generations:
                if isinstance(generation, ChatGeneration) and isinstance(
                    generation.message, AIMessage
                ):
                    self._add_message(generation.message, response.llm_output)

    def _add_message(self, message: AIMessage, llm_output: Mapping[str, Any] | None) -> None:
        usage = message.usage_metadata
        if not usage:
            return
        model = message.response_metadata.get("model_name") or (llm_output or {}).get("model_name")
        with self._lock:
            self.model_calls += 1
            tokens = self.models.setdefault(str(model or UNKNOWN_MODEL), Tokens())
            tokens.add(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))

    def add_agent(self, agent: str, tokens: tuple[int, int]) -> None:
        """Add the usage an agent reported for its answer."""
        with self._lock:
            self.agents.setdefault(agent, Tokens()).add(*tokens)

    @property
    def input_tokens(self) -> int:
        """Input tokens of the model calls (agents' excluded)."""
        return sum(t.input for t in self.models.values())

    @property
    def output_tokens(self) -> int:
        """Output tokens of the model calls (agents' excluded)."""
        return sum(t.output for t in self.models.values())


def reported_usage(data: Any) -> tuple[int, int] | None:
    """(input, output) from an agent's `usage` object: `input_tokens`/`output_tokens` or
    `prompt_tokens`/`completion_tokens`; None when absent or not counts."""
    if not isinstance(data, Mapping):
        return None
    counts = []
    for names in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens")):
        value = next((data[n] for n in names if n in data), 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        counts.append(min(value, 10**9))  # a bogus figure cannot blow the counters up
    if not any(counts):
        return None
    return counts[0], counts[1]
