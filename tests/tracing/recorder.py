"""A stand-in LangSmith endpoint that records every run it receives (JSON, batch and multipart)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.asgi_thread import ThreadedASGIServer


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "gzip":
        import gzip

        return gzip.decompress(body)
    return body


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str, dict[str, Any]]]:
    """LangSmith's /runs/multipart body as (op, run_id, fields): parts `post.<id>`, `patch.<id>`,
    `post.<id>.inputs`, `.outputs`, `.events`... are merged per (op, id)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        pieces = name.split(".") if isinstance(name, str) else []  # no RFC 2231 names here
        if len(pieces) < 2 or pieces[0] not in ("post", "patch"):
            continue  # attachments, feedback
        # a leaf part decoded: bytes (typeshed also allows a Message, for multipart parts)
        payload = cast(bytes, part.get_payload(decode=True) or b"")
        try:
            value = json.loads(payload)
        except ValueError:
            continue
        fields = merged.setdefault((pieces[0], pieces[1]), {"id": pieces[1]})
        if len(pieces) == 2:
            fields.update(value)
        else:
            fields[pieces[2]] = value
    return [(op, run_id, fields) for (op, run_id), fields in merged.items()]


class LangSmithRecorder:
    """Answers the LangSmith ingest API on loopback and keeps what arrives: `.runs()` merges the
    create and update operations of each run id into one dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.operations: list[tuple[str, dict[str, Any]]] = []
        self.bodies: list[bytes] = []
        self.stall = False
        """While True, ingest requests are held unanswered (a LangSmith that hangs)."""
        routes = [
            Route("/info", self._info, methods=["GET"]),
            Route("/runs", self._create, methods=["POST"]),
            Route("/runs/batch", self._batch, methods=["POST"]),
            Route("/runs/multipart", self._multipart, methods=["POST"]),
            Route("/runs/{run_id}", self._update, methods=["PATCH"]),
            Route("/{path:path}", self._other, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        ]
        self._server = ThreadedASGIServer(Starlette(routes=routes), name="langsmith-recorder")

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> LangSmithRecorder:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.operations.clear()
            self.bodies.clear()
        self.stall = False

    # -- handlers ----------------------------------------------------------------------------
    async def _body(self, request: Request) -> bytes:
        while self.stall and request.url.path != "/info":
            await asyncio.sleep(0.02)
        raw = _decompress(await request.body(), request.headers.get("content-encoding", ""))
        with self._lock:
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "headers": dict(request.headers),
                }
            )
            self.bodies.append(raw)
        return raw

    def _record(self, op: str, run: dict[str, Any]) -> None:
        with self._lock:
            self.operations.append((op, run))

    async def _info(self, request: Request) -> Response:
        await self._body(request)
        return JSONResponse(
            {"version": "0.0.0-recorder", "instance_flags": {"zstd_compression_enabled": True}}
        )

    async def _create(self, request: Request) -> Response:
        self._record("post", json.loads(await self._body(request)))
        return JSONResponse({})

    async def _update(self, request: Request) -> Response:
        run = json.loads(await self._body(request))
        run.setdefault("id", request.path_params["run_id"])
        self._record("patch", run)
        return JSONResponse({})

    async def _batch(self, request: Request) -> Response:
        data = json.loads(await self._body(request))
        for op in ("post", "patch"):
            for run in data.get(op) or []:
                self._record(op, run)
        return JSONResponse({})

    async def _multipart(self, request: Request) -> Response:
        body = await self._body(request)
        for op, _, run in parse_multipart(request.headers["content-type"], body):
            self._record(op, run)
        return JSONResponse({})

    async def _other(self, request: Request) -> Response:
        await self._body(request)
        return JSONResponse({"detail": "not recorded"}, status_code=404)

    # -- inspection --------------------------------------------------------------------------
    def runs(self) -> dict[str, dict[str, Any]]:
        """Run id → the run's fields, creates and updates merged (updates win)."""
        merged: dict[str, dict[str, Any]] = {}
        with self._lock:
            ops = list(self.operations)
        for _op, run in sorted(ops, key=lambda item: item[0] != "post"):
            current = merged.setdefault(str(run["id"]), {})
            for key, value in run.items():
                if value is not None or key not in current:
                    current[key] = value
        return merged

    def ingest_requests(self) -> list[dict[str, Any]]:
        """Requests that carried runs (anything but GET /info)."""
        with self._lock:
            return [r for r in self.requests if r["path"] != "/info"]

    def wait_for(
        self, predicate: Callable[[dict[str, dict[str, Any]]], bool], timeout: float = 10.0
    ) -> dict[str, dict[str, Any]]:
        """Poll until predicate(runs()) holds; AssertionError with what arrived otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.runs()
            if predicate(runs):
                return runs
            if time.monotonic() > deadline:
                names = sorted(
                    f"{r.get('name')}(end={bool(r.get('end_time'))})" for r in runs.values()
                )
                raise AssertionError(f"runs received did not match within {timeout}s: {names}")
            time.sleep(0.05)
