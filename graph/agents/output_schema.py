"""Structured tool results checked against the tool's output schema, each validator built once.

The MCP SDK's `ClientSession.call_tool` checks a result with `jsonschema.validate`, which first
checks the schema itself against its metaschema and builds a new validator: about 1.6 ms of CPU
on every call of a tool that declares an output schema (FastMCP declares one for any typed
return). The check is the same here; the schema is checked and compiled once per tool listing.
"""

from typing import Any

from jsonschema import SchemaError, ValidationError, validators
from jsonschema.protocols import Validator
from mcp.types import CallToolResult, Tool
from referencing import Registry
from referencing.exceptions import Unresolvable

from graph.agents.transport import AgentFailed


class OutputSchemas:
    """Validators of one server's tool output schemas, rebuilt when the tool listing changes."""

    def __init__(self) -> None:
        self._validators: dict[str, tuple[dict[str, Any], Validator]] = {}

    def check(self, tool: Tool | None, result: CallToolResult) -> None:
        """Raise AgentFailed when a successful result does not match the tool's output schema
        (as the SDK would; a tool the listing does not hold is not checked, as in the SDK)."""
        if tool is None or tool.outputSchema is None or result.isError:
            return
        if result.structuredContent is None:
            raise AgentFailed("invalid_output", "no structured content for an output schema")
        try:
            self._validator(tool.name, tool.outputSchema).validate(result.structuredContent)
        except ValidationError as exc:
            raise AgentFailed("invalid_output", exc.message[:300]) from None
        except (SchemaError, Unresolvable) as exc:
            raise AgentFailed("invalid_output_schema", str(exc)[:300]) from None

    def _validator(self, name: str, schema: dict[str, Any]) -> Validator:
        cached = self._validators.get(name)
        if cached is not None and cached[0] is schema:
            return cached[1]
        cls = validators.validator_for(schema)
        cls.check_schema(schema)
        # an explicit empty registry, as the SDK: `$ref`s resolve within the schema document
        validator = cls(schema, registry=Registry())
        self._validators[name] = (schema, validator)
        return validator
