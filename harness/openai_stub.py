"""OpenAI-compatible chat-completions stub server with scripted replies, for the real ChatOpenAI."""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from harness import openai_wire as wire
from harness.asgi_thread import ThreadedASGIServer
from harness.openai_specs import (  # re-exported: import specs from here
    Body,
    Delay,
    Error,
    Hang,
    Raw,
    Text,
    body,
    coerce,
    deep_json,
    default_reply,
    delay,
    empty_choices,
    error,
    hang,
    html_page,
    message_texts,
    render,
    route_json,
    structured,
    text,
    tool_calls,
)

__all__ = [
    "OpenAIStub",
    "body",
    "deep_json",
    "empty_choices",
    "html_page",
    "delay",
    "error",
    "hang",
    "route_json",
    "structured",
    "text",
    "tool_calls",
]

Handler = Callable[[dict[str, Any]], Any]
CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
MODEL_PATHS = ("/v1/models", "/models")


class OpenAIStub:
    """A fake OpenAI server: `enqueue` specs (FIFO) → `set_handler(fn)` → default reply."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        default: Handler = default_reply,
        keep_alive: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._headers: list[dict[str, str]] = []
        self._usages: list[dict[str, Any]] = []
        self._queue: deque[Any] = deque()
        self._handler: Handler | None = None
        self._default = default
        self._release_gen = 0
        self.latency = 0.0
        self.errors: list[str] = []
        routes = [Route(p, self._chat, methods=["POST"]) for p in CHAT_PATHS]
        routes += [Route(p, self._models, methods=["GET"]) for p in MODEL_PATHS]
        self.app: Any = Starlette(routes=routes)
        if not keep_alive:  # see wire.ConnectionClose
            self.app = wire.ConnectionClose(self.app)
        self._server = ThreadedASGIServer(self.app, host, port, name="openai-stub")

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Server root, e.g. http://127.0.0.1:PORT (ChatOpenAI wants `url + "/v1"`)."""
        return self._server.url

    @property
    def base_url(self) -> str:
        """The value for ChatOpenAI(base_url=...) / OPENAI_BASE_URL."""
        return self.url + "/v1"

    def env(self) -> dict[str, str]:
        """Environment pointing OpenAI clients (also in subprocesses) at this stub."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": "test-key"}

    def start(self) -> OpenAIStub:
        self._server.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.stop()

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def chat_model(self, **kwargs: Any) -> Any:
        """A real ChatOpenAI bound to this stub (model gpt-4o-mini, max_retries=0, timeout=10)."""
        from langchain_openai import ChatOpenAI

        opts = {"model": "gpt-4o-mini", "api_key": "test-key", "max_retries": 0, "timeout": 10}
        return ChatOpenAI(base_url=self.base_url, **{**opts, **kwargs})

    # -- scripting -------------------------------------------------------------------------
    def set_handler(self, fn: Handler | None) -> None:
        """fn(request_json) -> spec | str | dict | BaseModel | None (None: default reply)."""
        self._handler = fn

    def enqueue(self, *specs: Any) -> None:
        """Answer the next requests with these specs, one per request, in order."""
        with self._lock:
            self._queue.extend(specs)

    @property
    def pending(self) -> int:
        """Specs still queued."""
        return len(self._queue)

    def release(self) -> None:
        """Let every hanging request finish (with a 503)."""
        self._release_gen += 1

    def reset(self) -> None:
        """Forget requests, queue, handler, latency and errors; release hanging requests."""
        self.release()
        with self._lock:
            self._requests.clear()
            self._headers.clear()
            self._usages.clear()
            self._queue.clear()
            self.errors.clear()
        self._handler = None
        self.latency = 0.0

    # -- inspection ------------------------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of every chat-completions request JSON received, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def usages(self) -> list[dict[str, Any]]:
        """The `usage` object of every answer the client was sent (streams: when it asked for
        it with stream_options.include_usage), with the request's model, in order."""
        with self._lock:
            return list(self._usages)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self._headers)

    @property
    def request_count(self) -> int:
        return len(self._requests)

    def request(self, i: int = -1) -> dict[str, Any]:
        return self.requests[i]

    def last_request(self) -> dict[str, Any]:
        return self.request(-1)

    def messages(self, i: int = -1) -> list[dict[str, Any]]:
        return self.request(i).get("messages", [])

    def messages_text(self, i: int = -1) -> str:
        """All message contents of request i joined with newlines."""
        return "\n".join(message_texts(self.request(i)))

    def tool_names(self, i: int = -1) -> list[str]:
        """Names of the tools offered in request i."""
        return [t.get("function", {}).get("name") for t in self.request(i).get("tools") or []]

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until at least n requests arrived (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while self.request_count < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} model requests, got {self.request_count}")
            time.sleep(0.01)
        return self.requests

    # -- serving ---------------------------------------------------------------------------
    def _next_spec(self, req: dict[str, Any]) -> Any:
        with self._lock:
            if self._queue:
                return coerce(self._queue.popleft())
        spec = coerce(self._handler(req)) if self._handler else None
        return spec if spec is not None else coerce(self._default(req))

    async def _models(self, request: Request) -> Response:
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "stub"}
            for m in ("gpt-4o-mini", "gpt-4o")
        ]
        return JSONResponse({"object": "list", "data": data})

    async def _resolve(self, req: dict[str, Any]) -> Any:
        """The spec answering `req`, after latency, delays and hangs."""
        spec = self._next_spec(req)
        if self.latency:
            await asyncio.sleep(self.latency)
        while isinstance(spec, (Delay, Hang)):
            if isinstance(spec, Hang):
                gen = self._release_gen
                while gen == self._release_gen:
                    await asyncio.sleep(0.02)
                return Error(503, message="stub released a hanging request")
            await asyncio.sleep(spec.seconds)
            spec = coerce(spec.then) if spec.then is not None else coerce(self._default(req))
        return spec

    async def _chat(self, request: Request) -> Response:
        try:
            req = await request.json()
        except json.JSONDecodeError:
            err: dict[str, Any] = {"message": "invalid JSON", "type": "invalid_request_error"}
            return JSONResponse({"error": err}, 400)
        with self._lock:
            self._requests.append(req)
            self._headers.append(dict(request.headers))
        try:
            spec = await self._resolve(req)
        except Exception:  # a bug in a test's handler: answer 500 and keep it for the fixture
            self.errors.append(traceback.format_exc())
            spec = Error(500, message="stub handler raised:\n" + self.errors[-1])
        if isinstance(spec, Error):
            err = {"message": spec.message, "type": "server_error", "param": None, "code": None}
            body = spec.body if spec.body is not None else {"error": err}
            if isinstance(body, str):
                return Response(body, spec.status, media_type="text/plain")
            return JSONResponse(body, spec.status)
        if isinstance(spec, Raw):
            return JSONResponse(spec.body, spec.status)
        if isinstance(spec, Body):
            return Response(spec.content, spec.status, media_type=spec.media_type)
        message, finish = render(spec, req)
        model = req.get("model") or "gpt-4o-mini"
        use = wire.usage(req, message)
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
        if include_usage or not req.get("stream"):
            with self._lock:
                self._usages.append({**use, "model": model})
        if not req.get("stream"):
            return JSONResponse(wire.completion(model, message, finish, use))
        delay_s = spec.chunk_delay if isinstance(spec, Text) else 0.0
        events = wire.sse(model, message, finish, use if include_usage else None, delay_s)
        return StreamingResponse(events, media_type="text/event-stream")


def main() -> None:
    """Run the stub in the foreground with its default behaviour (keyword router, echo text)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    args = parser.parse_args()
    import uvicorn

    stub = OpenAIStub(args.host, args.port, keep_alive=True)
    stub.latency = args.latency
    print(f"OpenAI stub on http://{args.host}:{args.port}/v1", flush=True)
    uvicorn.run(stub.app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
