"""The OpenAI stub drives the real ChatOpenAI: text, structured output, tools, streaming, errors."""

from __future__ import annotations

import warnings

import httpx
import openai
import pytest
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from graph.decision import RouteDecision
from harness.openai_stub import (
    OpenAIStub,
    delay,
    error,
    hang,
    route_json,
    structured,
    text,
    tool_calls,
)


class Slot(BaseModel):
    """A bookable slot."""

    fecha: str
    hora: str


@tool
def listar_servicios() -> str:
    """Lista los servicios disponibles."""
    return "[]"


async def test_invoke_records_request(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(text("Hola, ¿en qué te ayudo?"))
    reply = await openai_stub.chat_model().ainvoke([("system", "Eres un bot"), ("user", "hola")])
    assert reply.content == "Hola, ¿en qué te ayudo?"
    assert reply.response_metadata["finish_reason"] == "stop"
    assert reply.usage_metadata and reply.usage_metadata["total_tokens"] > 0
    assert openai_stub.request_count == 1
    assert openai_stub.messages_text() == "Eres un bot\nhola"
    assert openai_stub.last_request()["model"] == "gpt-4o-mini"
    assert openai_stub.request_headers[-1]["authorization"] == "Bearer test-key"


def test_env_points_default_client_at_stub(openai_stub: OpenAIStub) -> None:
    reply = ChatOpenAI(model="gpt-4o-mini", max_retries=0).invoke("hola")
    assert reply.content == "(stub) respuesta a: hola"


async def test_structured_output_default_method_json_schema(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(route_json("delegate", agent="reserva", intent="delegate"))
    router = openai_stub.chat_model().with_structured_output(RouteDecision)
    decision = await router.ainvoke("reservar")
    assert decision == RouteDecision(action="delegate", agent="reserva", intent="delegate")
    rf = openai_stub.last_request()["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["name"] == "RouteDecision"
    assert rf["json_schema"]["strict"] is True and "tools" not in openai_stub.last_request()


async def test_structured_output_function_calling(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(structured(Slot(fecha="2025-05-01", hora="10:00")))
    model = openai_stub.chat_model().with_structured_output(Slot, method="function_calling")
    assert await model.ainvoke("x") == Slot(fecha="2025-05-01", hora="10:00")
    forced = {"type": "function", "function": {"name": "Slot"}}
    assert openai_stub.last_request()["tool_choice"] == forced


def test_default_model_name_falls_back_to_function_calling(openai_stub: OpenAIStub) -> None:
    model = ChatOpenAI(base_url=openai_stub.base_url, api_key="k", max_retries=0)  # gpt-3.5-turbo
    openai_stub.enqueue(route_json("respond", reply="Hola", intent="greeting"))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        decision = model.with_structured_output(RouteDecision).invoke("hola")
    assert isinstance(decision, RouteDecision) and decision.reply == "Hola"
    assert "response_format" not in openai_stub.last_request()


def test_structured_json_mode_and_dict_schema(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(structured({"fecha": "hoy", "hora": "9"}), structured({"a": 1}))
    schema = Slot.model_json_schema()
    parsed = openai_stub.chat_model().with_structured_output(schema).invoke("x")
    assert parsed == {"fecha": "hoy", "hora": "9"}
    json_mode = openai_stub.chat_model().with_structured_output(method="json_mode")
    assert json_mode.invoke("responde en json") == {"a": 1}


async def test_bind_tools_receives_tool_calls(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(tool_calls([("listar_servicios", {}), ("crear", {"x": 1})]))
    msg = await openai_stub.chat_model().bind_tools([listar_servicios]).ainvoke("servicios?")
    calls = [(c["name"], c["args"]) for c in msg.tool_calls]
    assert calls == [("listar_servicios", {}), ("crear", {"x": 1})]
    assert all(c["id"].startswith("call_") for c in msg.tool_calls)
    assert openai_stub.tool_names() == ["listar_servicios"]


async def test_astream_text_in_chunks_with_usage(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(text("uno dos tres cuatro"))
    chunks = [c async for c in openai_stub.chat_model(stream_usage=True).astream("x")]
    pieces = [c.content for c in chunks if c.content]
    assert pieces == ["uno", " dos", " tres", " cuatro"]
    assert sum((c.usage_metadata or {}).get("output_tokens", 0) for c in chunks) == 4
    assert openai_stub.last_request()["stream_options"] == {"include_usage": True}


async def test_astream_tool_calls_and_structured(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(tool_calls([("listar_servicios", {"filtro": "corte de pelo"})]))
    agg = None
    async for chunk in openai_stub.chat_model().bind_tools([listar_servicios]).astream("x"):
        agg = chunk if agg is None else agg + chunk
    assert agg is not None and agg.tool_calls[0]["args"] == {"filtro": "corte de pelo"}
    openai_stub.enqueue(route_json("delegate", agent="venta", intent="delegate"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # upstream pydantic serializer warning on `parsed`
        router = openai_stub.chat_model().with_structured_output(RouteDecision)
        out = [d async for d in router.astream("x")]
    assert out[-1].agent == "venta"


def test_raw_sse_format(openai_stub: OpenAIStub) -> None:
    body = {
        "model": "m",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hola"}],
    }
    openai_stub.enqueue(text("a b"))
    raw = httpx.post(openai_stub.url + "/chat/completions", json=body).text
    lines = [ln for ln in raw.split("\n") if ln]
    assert all(ln.startswith("data: ") for ln in lines) and lines[-1] == "data: [DONE]"
    assert '"usage": {"prompt_tokens"' in lines[-2] and '"choices": []' in lines[-2]
    assert httpx.get(openai_stub.base_url + "/models").json()["object"] == "list"


async def test_error_surfaces(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(error(500), error(429, message="slow down"))
    with pytest.raises(openai.InternalServerError):
        await openai_stub.chat_model().ainvoke("x")
    with pytest.raises(openai.RateLimitError, match="slow down"):
        await openai_stub.chat_model().ainvoke("x")


async def test_delay_and_hang_time_out(openai_stub: OpenAIStub) -> None:
    openai_stub.enqueue(delay(2, then=text("tarde")), hang(), delay(0.2, then=text("ok")))
    model = openai_stub.chat_model(timeout=0.4)
    for _ in range(2):  # a late answer ("tarde") or none: the client's 0.4 s timeout fires
        with pytest.raises(openai.APITimeoutError):
            await model.ainvoke("x")
    assert (await model.ainvoke("x")).content == "ok"


async def test_queue_then_handler_then_default(openai_stub: OpenAIStub) -> None:
    model = openai_stub.chat_model()
    openai_stub.set_handler(
        lambda req: "del handler" if "handler" in req["messages"][-1]["content"] else None
    )
    openai_stub.enqueue("de la cola")
    assert (await model.ainvoke("handler")).content == "de la cola"
    assert (await model.ainvoke("handler")).content == "del handler"
    assert (await model.ainvoke("otro")).content == "(stub) respuesta a: otro"
    router = model.with_structured_output(RouteDecision)
    assert (await router.ainvoke("quiero reservar una mesa")).agent == "reserva"
    assert (await router.ainvoke("hola")).intent == "greeting"
    assert openai_stub.pending == 0


def test_handler_bug_becomes_500_and_is_kept(openai_stub: OpenAIStub) -> None:
    openai_stub.set_handler(lambda req: 1 / 0)
    with pytest.raises(openai.InternalServerError):
        openai_stub.chat_model().invoke("x")
    assert "ZeroDivisionError" in openai_stub.errors[0]
    openai_stub.errors.clear()  # otherwise the fixture fails the test on purpose
