"""A turn's tokens and cost in its LangSmith trace's metadata and in its log line."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from harness.openai_specs import route_json
from harness.openai_stub import OpenAIStub
from harness.orchestrator import RunningApp
from server.observability.tracing import langsmith_client
from tests.tracing.recorder import LangSmithRecorder
from tests.tracing.test_langsmith import LANGSMITH_KEY, metadata, roots, traced_settings


def test_the_trace_and_the_log_line_carry_the_turns_tokens_and_cost(
    start_app: Callable[..., RunningApp],
    openai_stub: OpenAIStub,
    recorder: LangSmithRecorder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        app = start_app(
            **traced_settings(
                openai_stub,
                recorder.url,
                MODEL_PRICES={"gpt-4o-mini": {"input": 1.0, "output": 4.0}},
            )
        )
        openai_stub.enqueue(route_json("respond", reply="¡Hola! ¿En qué te ayudo?"))
        assert app.chat("hola, buenas tardes", "usage-trace").status_code == 200
        langsmith_client(recorder.url, LANGSMITH_KEY).flush()
        runs = recorder.wait_for(lambda rs: any(r.get("end_time") for r in roots(rs)))
    finally:
        langsmith_client(recorder.url, LANGSMITH_KEY).close(timeout=2)
        langsmith_client.cache_clear()
    (usage,) = openai_stub.usages
    cost = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 4.0) / 1e6
    (root,) = [r for r in roots(runs) if r.get("end_time")]
    meta = metadata(root)
    assert meta["input_tokens"] == usage["prompt_tokens"]
    assert meta["output_tokens"] == usage["completion_tokens"]
    assert meta["llm_key"] == "server" and meta["cost_usd"] == pytest.approx(cost)
    out = capsys.readouterr().out
    lines = [json.loads(text) for text in out.splitlines() if text.startswith("{")]
    (line,) = [line["extra_fields"] for line in lines if line["message"] == "turn"]
    assert line["input_tokens"] == usage["prompt_tokens"]
    assert line["output_tokens"] == usage["completion_tokens"]
    assert line["cost_usd"] == pytest.approx(cost) and line["budget_exceeded"] is False
