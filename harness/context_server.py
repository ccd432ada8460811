"""Fake business-context HTTP service (codOpe OBTENER_CONTEXTO_NEGOCIO), served in a thread."""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.asgi_thread import ThreadedASGIServer

OPERATION = "OBTENER_CONTEXTO_NEGOCIO"


def default_context(id_empresa: Any) -> str:
    """The text served for an id nobody configured."""
    return f"Empresa de prueba {id_empresa}: atendemos de lunes a sábado de 9:00 a 18:00."


class ContextServer:
    """POST (any path) {"codOpe", "id_empresa"} → {"success": true, "contexto_negocio": ...}."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self.texts: dict[str, str | None] = {}
        self.delay = 0.0
        self.delays_finished = 0
        """Requests that waited their whole delay (one cut before is never counted)."""
        self.fail_next = 0
        self.fail_status = 500
        self.requests: list[dict[str, Any]] = []
        self.calls_by_id: Counter[str] = Counter()
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])
        self._server = ThreadedASGIServer(self.app, host, port, name="context-server")

    @property
    def url(self) -> str:
        """The endpoint URL to configure in the orchestrator (root path)."""
        return self._server.url + "/"

    @property
    def calls(self) -> int:
        """How many context requests arrived (any id, any outcome)."""
        return len(self.requests)

    def start(self) -> ContextServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> ContextServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_context(self, id_empresa: int | str, text: str | None) -> None:
        """Text for an id; None makes that id answer {"success": false}."""
        self.texts[str(id_empresa)] = text

    def set_delay(self, seconds: float) -> None:
        self.delay = seconds

    def fail(self, n: int = 1, status: int = 500) -> None:
        """The next n requests answer HTTP `status`."""
        self.fail_next, self.fail_status = n, status

    def reset(self) -> None:
        """Forget texts, delay, failures and counters."""
        with self._lock:
            self.texts.clear()
            self.requests.clear()
            self.calls_by_id.clear()
        self.delay, self.fail_next, self.fail_status = 0.0, 0, 500
        self.delays_finished = 0

    async def _handle(self, request: Request) -> Response:
        try:
            body = await request.json() if request.method == "POST" else dict(request.query_params)
        except ValueError:
            body = {}
        with self._lock:
            self.requests.append(body)
            self.calls_by_id[str(body.get("id_empresa"))] += 1
            failing = self.fail_next > 0
            self.fail_next -= 1 if failing else 0
        if self.delay:
            await asyncio.sleep(self.delay)
            with self._lock:
                self.delays_finished += 1
        if failing:
            return JSONResponse({"success": False, "error": "fallo simulado"}, self.fail_status)
        if body.get("codOpe") != OPERATION:
            err = f"codOpe desconocido: {body.get('codOpe')}"
            return JSONResponse({"success": False, "error": err}, 400)
        key = str(body.get("id_empresa"))
        text = self.texts[key] if key in self.texts else default_context(key)
        if text is None:
            return JSONResponse({"success": False, "error": f"empresa {key} no encontrada"})
        # ASCII JSON, as many backends write it: any text (even a lone surrogate) as escapes
        body = json.dumps({"success": True, "contexto_negocio": text})
        return Response(body, media_type="application/json")


def main() -> None:
    """Run the context server in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8095)
    args = parser.parse_args()
    import uvicorn

    print(f"context server on http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(ContextServer().app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
