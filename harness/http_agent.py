"""Plain-HTTP test agents shaped like the production agents of 2026 (FastAPI, pydantic, 422s)."""

from __future__ import annotations

import argparse
import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from harness.asgi_thread import ThreadedASGIServer

Shape = Literal["flat", "context"]


class FlatBody(BaseModel):
    """agente_citas / agente_ventes 2.5: POST /api/chat."""

    message: str = Field(min_length=1, max_length=4096)
    session_id: int
    id_empresa: int
    api_key: str | None = None
    config: dict[str, Any] | None = None


class ContextConfig(BaseModel):
    """agente_reserva 3.0 / agente_citas_ventas 2.0: the config inside `context`."""

    config: dict[str, Any]


class ContextBody(BaseModel):
    """agente_reserva 3.0 (POST /chat) and agente_citas_ventas 2.0 (POST /api/chat)."""

    message: str = Field(min_length=1)
    session_id: int
    context: ContextConfig


@dataclass
class HttpAgentState:
    """What the agent received and the faults it is told to inject (thread-safe enough: one
    event loop serves it, tests read between turns)."""

    name: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    """Each accepted request: body (as validated), json (exactly as sent), headers (lower-cased)."""
    requests: int = 0
    """Every POST, accepted or not."""
    in_flight: int = 0
    max_in_flight: int = 0
    delay: float = 0.0
    statuses: list[int] = field(default_factory=list)
    """Statuses to answer next, one per request (200 answers normally)."""
    empty_next: int = 0
    error_detail: str = "fallo simulado {status}"
    """The `detail` of an injected error status; may name {status} and {api_key} (echoing the
    key, as a model provider's 401 text does)."""
    url: str | None = None
    usage: dict[str, Any] | None = None
    """A `usage` object to put in every answer (as agents that count their tokens do)."""
    memory: dict[int, int] = field(default_factory=dict)
    health_status: int = 200
    """The status GET /health answers (a 500 health: an agent /ready must call unreachable)."""
    health_requests: int = 0
    reply_bytes: int = 0
    """When > 0, every reply is padded to this many bytes (an oversized body)."""
    reply_format: str | None = None
    """The reply to answer instead of the echo; may name {message}, {turn} and {api_key} (an
    agent that echoes the company's key back)."""

    def reset(self) -> None:
        self.calls.clear()
        self.requests = self.in_flight = self.max_in_flight = self.empty_next = 0
        self.health_status, self.health_requests, self.reply_bytes = 200, 0, 0
        self.delay = 0.0
        self.error_detail = HttpAgentState.error_detail
        self.statuses.clear()
        self.url = None
        self.usage = None
        self.memory.clear()
        self.reply_format = None


def build_app(state: HttpAgentState, shape: Shape, token: str | None) -> FastAPI:
    """The agent's FastAPI app: one chat path for its body shape, plus GET /health."""
    app = FastAPI()
    path = "/chat" if shape == "context" and state.name == "reserva" else "/api/chat"

    async def answer(request: Request, body: BaseModel, session_id: int) -> JSONResponse:
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            state.calls.append(
                {
                    "body": body.model_dump(),
                    "json": await request.json(),
                    "headers": {k: v for k, v in request.headers.items()},
                }
            )
            if state.delay:
                await asyncio.sleep(state.delay)
            status = state.statuses.pop(0) if state.statuses else 200
            if status != 200:
                key = getattr(body, "api_key", None)
                detail = state.error_detail.format(status=status, api_key=key)
                return JSONResponse({"detail": detail}, status_code=status)
            if state.empty_next:
                state.empty_next -= 1
                return JSONResponse({"reply": "", "url": None})
            turn = state.memory[session_id] = state.memory.get(session_id, 0) + 1
            message = body.model_dump()["message"]
            reply = f"[{state.name}] recibido: {message} (turno {turn})"
            if state.reply_format is not None:
                key = getattr(body, "api_key", None)
                reply = state.reply_format.format(message=message, turn=turn, api_key=key)
            if state.reply_bytes:
                reply = reply.ljust(state.reply_bytes, "x")
            answer: dict[str, Any] = {"reply": reply, "url": state.url}
            if state.usage is not None:
                answer["usage"] = state.usage
            return JSONResponse(answer)
        finally:
            state.in_flight -= 1

    def check_token(sent: str | None) -> JSONResponse | None:
        if token is not None and sent != token:
            return JSONResponse({"detail": "Unauthorized"}, status_code=401)
        return None

    if shape == "flat":

        @app.post(path)
        async def chat_flat(
            request: Request,
            body: FlatBody,
            x_internal_token: str | None = Header(default=None),
        ) -> JSONResponse:
            return check_token(x_internal_token) or await answer(request, body, body.session_id)

    else:

        @app.post(path)
        async def chat_context(
            request: Request,
            body: ContextBody,
            x_internal_token: str | None = Header(default=None),
        ) -> JSONResponse:
            return check_token(x_internal_token) or await answer(request, body, body.session_id)

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        if request.method == "POST":
            state.requests += 1
        return await call_next(request)

    @app.get("/health")
    async def health() -> JSONResponse:
        state.health_requests += 1
        ok = state.health_status < 400
        return JSONResponse({"status": "ok" if ok else "error"}, status_code=state.health_status)

    return app


class HttpAgent:
    """One HTTP test agent served in a thread: `.url` is its chat endpoint."""

    def __init__(self, name: str, shape: Shape = "flat", token: str | None = None) -> None:
        self.name, self.shape = name, shape
        self.state = HttpAgentState(name)
        self.server = ThreadedASGIServer(build_app(self.state, shape, token), name=f"http-{name}")
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        path = "/chat" if self.shape == "context" and self.name == "reserva" else "/api/chat"
        return f"{self.server.url}{path}"

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def calls(self) -> list[dict[str, Any]]:
        return self.state.calls

    def last_body(self) -> dict[str, Any]:
        return self.state.calls[-1]["body"]

    def last_json(self) -> dict[str, Any]:
        """The last accepted request's JSON exactly as the orchestrator sent it."""
        return self.state.calls[-1]["json"]

    def last_headers(self) -> dict[str, str]:
        return self.state.calls[-1]["headers"]


def main() -> None:
    """Serve one HTTP test agent in this process (benchmarks): --port, --name, --shape."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="reserva")
    parser.add_argument("--shape", choices=("flat", "context"), default="flat")
    parser.add_argument("--reply-bytes", type=int, default=0, help="pad every reply to N bytes")
    args = parser.parse_args()
    state = HttpAgentState(args.name, reply_bytes=args.reply_bytes)
    app = build_app(state, args.shape, None)

    @app.middleware("http")
    async def forget(request: Request, call_next: Any) -> Any:
        state.calls.clear()  # a long benchmark keeps no record of each call
        return await call_next(request)

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
