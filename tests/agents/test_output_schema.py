"""Structured tool results are checked against the tool's output schema (validators reused)."""

from typing import Any

import pytest
from mcp.types import CallToolResult, TextContent, Tool

from graph.agents.output_schema import OutputSchemas
from graph.agents.transport import AgentFailed

pytestmark = pytest.mark.fast  # pure and in memory: part of `make test-fast`

REPLY_SCHEMA = {
    "type": "object",
    "properties": {"reply": {"type": "string"}, "url": {"type": ["string", "null"]}},
    "required": ["reply"],
}


def tool(schema: dict[str, Any] | None) -> Tool:
    return Tool(name="chat", inputSchema={"type": "object"}, outputSchema=schema)


def result(structured: dict[str, Any] | None, *, error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text="hola")], structuredContent=structured, isError=error
    )


def test_valid_content_passes_and_invalid_is_an_agent_failure() -> None:
    schemas, chat = OutputSchemas(), tool(REPLY_SCHEMA)
    for _ in range(3):  # the same listing: one validator, every call checked
        schemas.check(chat, result({"reply": "Claro", "url": None}))
        with pytest.raises(AgentFailed) as failed:
            schemas.check(chat, result({"reply": 3}))
        assert failed.value.reason == "invalid_output"
    with pytest.raises(AgentFailed, match="invalid_output"):
        schemas.check(chat, result(None))  # a schema but no structured content


def test_a_new_listing_is_checked_against_its_own_schema() -> None:
    schemas = OutputSchemas()
    schemas.check(tool(REPLY_SCHEMA), result({"reply": "Claro"}))
    stricter = {**REPLY_SCHEMA, "required": ["reply", "url"]}
    with pytest.raises(AgentFailed):
        schemas.check(tool(stricter), result({"reply": "Claro"}))


def test_unchecked_cases_as_in_the_sdk() -> None:
    schemas = OutputSchemas()
    schemas.check(None, result({"anything": 1}))  # not in the listing
    schemas.check(tool(None), result({"anything": 1}))  # no output schema
    schemas.check(tool(REPLY_SCHEMA), result({"anything": 1}, error=True))  # an error result


def test_an_invalid_schema_is_an_agent_failure() -> None:
    with pytest.raises(AgentFailed) as failed:
        OutputSchemas().check(tool({"type": "no-such-type"}), result({"reply": "x"}))
    assert failed.value.reason == "invalid_output_schema"
