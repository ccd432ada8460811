"""Reply specs for the OpenAI stub: what the fake model answers, adapted to each request."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class Text:
    """Assistant text content (streamed as several token chunks, `chunk_delay` s apart)."""

    content: str
    finish_reason: str = "stop"
    chunk_delay: float = 0.0


@dataclass(frozen=True)
class Structured:
    """A structured answer: JSON content for `response_format`, or a forced tool call."""

    obj: Any  # dict, pydantic model instance, or a raw (possibly malformed) JSON string


@dataclass(frozen=True)
class ToolCalls:
    """Assistant message with tool calls: ((name, args_dict_or_raw_json_str), ...)."""

    calls: tuple[tuple[str, Any], ...]
    content: str = ""


@dataclass(frozen=True)
class Error:
    """HTTP error answer with an OpenAI-style error body (or `body` verbatim)."""

    status: int = 500
    body: Any = None
    message: str = "stub error"


@dataclass(frozen=True)
class Delay:
    """Sleep `seconds`, then answer `then` (None: the default reply)."""

    seconds: float
    then: Any = None


@dataclass(frozen=True)
class Hang:
    """Never answer (until the stub is reset or released): a dead model."""


@dataclass(frozen=True)
class Raw:
    """A complete non-streaming response body sent verbatim."""

    body: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True)
class Body:
    """A response body sent as these exact bytes (an HTML error page, a 50k-deep JSON array)."""

    content: bytes
    status: int = 200
    media_type: str = "application/json"


Spec = Text | Structured | ToolCalls | Error | Delay | Hang | Raw | Body


def text(content: str, *, chunk_delay: float = 0.0, finish_reason: str = "stop") -> Text:
    """Answer with assistant text."""
    return Text(content, finish_reason, chunk_delay)


def structured(obj: Any) -> Structured:
    """Answer a structured-output request with `obj` (dict, pydantic instance or raw JSON str)."""
    return Structured(obj)


def tool_calls(
    calls: list[tuple[str, Any]] | tuple[tuple[str, Any], ...], content: str = ""
) -> ToolCalls:
    """Answer with tool calls, e.g. tool_calls([("listar_servicios", {})])."""
    return ToolCalls(tuple((name, args) for name, args in calls), content)


def error(status: int = 500, body: Any = None, message: str = "stub error") -> Error:
    """Answer with an HTTP error."""
    return Error(status, body, message)


def body(content: bytes | str, status: int = 200, media_type: str = "application/json") -> Body:
    """Answer with these exact bytes (what no OpenAI server should send: a model failure)."""
    return Body(content.encode() if isinstance(content, str) else content, status, media_type)


def html_page(status: int = 200) -> Body:
    """An HTML page instead of JSON (a proxy's error or login page)."""
    page = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
    return body(page, status, "text/html")


def empty_choices() -> Raw:
    """A chat.completion whose `choices` list is empty."""
    return Raw(
        {
            "id": "chatcmpl-empty",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [],
        }
    )


def deep_json(depth: int = 50_000) -> Body:
    """A JSON body of `depth` nested arrays (too deep for any JSON parser's recursion)."""
    return body("[" * depth + "]" * depth)


def delay(seconds: float, then: Any = None) -> Delay:
    """Answer `then` after `seconds` (a slow model)."""
    return Delay(seconds, then)


def hang() -> Hang:
    """Never answer (a dead model); released by `stub.reset()` / `stub.release()`."""
    return Hang()


def route_json(
    action: str, agent: str | None = None, reply: str | None = None, intent: str = "other"
) -> Structured:
    """The orchestrator router's structured decision (RouteDecision fields)."""
    if action not in ("delegate", "respond"):
        raise ValueError(f"action must be 'delegate' or 'respond', got {action!r}")
    return Structured({"action": action, "agent": agent, "reply": reply, "intent": intent})


def coerce(value: Any) -> Spec | None:
    """Turn a handler's return value into a spec: str→text, dict/model→structured, None→None."""
    if value is None or isinstance(
        value, (Text, Structured, ToolCalls, Error, Delay, Hang, Raw, Body)
    ):
        return value
    if isinstance(value, str):
        return Text(value)
    if isinstance(value, (dict, BaseModel)):
        return Structured(value)
    raise TypeError(f"cannot use {value!r} as an OpenAI stub reply")


def new_call_id() -> str:
    """A tool-call id like OpenAI's."""
    return "call_" + uuid.uuid4().hex[:24]


def forced_tool(req: dict[str, Any]) -> str | None:
    """The function name the request forces with `tool_choice`, if any."""
    tc = req.get("tool_choice")
    if isinstance(tc, dict):
        return (tc.get("function") or {}).get("name")
    if isinstance(tc, str) and tc not in ("auto", "none", "required", "any"):
        return tc
    if tc in ("required", "any") and req.get("tools"):
        return req["tools"][0]["function"]["name"]
    return None


def wants_json_content(req: dict[str, Any]) -> bool:
    """True when the request asks for JSON content (`response_format` json_schema/json_object)."""
    rf = req.get("response_format")
    return isinstance(rf, dict) and rf.get("type") in ("json_schema", "json_object")


def render(spec: Text | Structured | ToolCalls, req: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(assistant message, finish_reason) for a content-producing spec, adapted to the request."""
    if isinstance(spec, Structured):
        obj = spec.obj.model_dump(mode="json") if isinstance(spec.obj, BaseModel) else spec.obj
        payload = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
        name = None if wants_json_content(req) else forced_tool(req)
        if name:
            return render(ToolCalls(((name, payload),)), req)
        return {"role": "assistant", "content": payload, "refusal": None}, "stop"
    if isinstance(spec, ToolCalls):
        calls = [
            {
                "id": new_call_id(),
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args
                    if isinstance(args, str)
                    else json.dumps(args, ensure_ascii=False),
                },
            }
            for name, args in spec.calls
        ]
        msg = {
            "role": "assistant",
            "content": spec.content or None,
            "refusal": None,
            "tool_calls": calls,
        }
        return msg, "tool_calls"
    return {"role": "assistant", "content": spec.content, "refusal": None}, spec.finish_reason


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def message_texts(req: dict[str, Any]) -> list[str]:
    """The text content of every message of a chat-completions request."""
    return [_content_text(m.get("content")) for m in req.get("messages", [])]


def request_user_text(req: dict[str, Any]) -> str:
    """The text of the last user message."""
    for m in reversed(req.get("messages", [])):
        if m.get("role") == "user":
            return _content_text(m.get("content"))
    return ""


def request_schema(req: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the request wants answered (response_format or forced tool parameters)."""
    rf = req.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        return (rf.get("json_schema") or {}).get("schema") or {}
    name = forced_tool(req)
    for tool in req.get("tools") or []:
        if name and tool.get("function", {}).get("name") == name:
            return tool["function"].get("parameters") or {}
    return None


def example_from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A minimal instance of a JSON schema (defaults, first enum values, empty strings)."""
    root = root or schema
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return example_from_schema(target, root)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return example_from_schema(schema[key][0], root)
    kind: Any = schema.get("type")  # a JSON type name, a list of them, or None
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        return {k: example_from_schema(v, root) for k, v in schema.get("properties", {}).items()}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(kind)


_ROUTES = (
    ("reserva", r"reserv"),
    ("cita", r"\bcita|agend"),
    ("venta", r"compr|precio|product|pedido|venta|cu[aá]nto cuesta"),
)


def keyword_route(message: str) -> Structured:
    """A plausible router decision from keywords (the stub's default for router requests)."""
    low = message.lower()
    for agent, pattern in _ROUTES:
        if re.search(pattern, low):
            return route_json("delegate", agent=agent, intent="delegate")
    if re.search(r"\b(hola|buen[oa]s)\b", low):
        return route_json("respond", reply="¡Hola! ¿En qué puedo ayudarte?", intent="greeting")
    if re.search(r"gracias", low):
        return route_json("respond", reply="¡Con gusto!", intent="thanks")
    return route_json("respond", reply="¿Podrías darme más detalles?", intent="clarify")


def default_reply(req: dict[str, Any]) -> Spec:
    """The stub's answer when nothing was scripted: routes router requests, echoes otherwise."""
    schema = request_schema(req)
    if schema is not None:
        if "action" in schema.get("properties", {}):
            return keyword_route(request_user_text(req))
        return Structured(example_from_schema(schema))
    if wants_json_content(req):
        return Structured({})
    return Text(f"(stub) respuesta a: {request_user_text(req)[:200]}")
