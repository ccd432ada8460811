"""A reply-webhook receiver for tests and benchmarks: a real HTTP server on a loopback port that
records every POST (headers, exact body bytes, time) and answers scripted statuses; it can be
taken down (port closed: connection refused) and brought back on the same port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Delivery:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes
    status: int
    """What the receiver answered."""
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ReceiverState:
    """What the receiver got and what it answers next (guarded by `lock`)."""

    deliveries: list[Delivery] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    """Statuses to answer next, one per POST; then `default_status`."""
    default_status: int = 200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: ReceiverState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            if state.delay:
                time.sleep(state.delay)
            with state.lock:
                status = state.statuses.pop(0) if state.statuses else state.default_status
                state.deliveries.append(
                    Delivery(
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        status=status,
                        at=time.time(),
                    )
                )
            answer = b'{"ok": true}' if status < 300 else b'{"error": "simulado"}'
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """A client that closes its connection (a cancelled or cut delivery) is not an error here."""

    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


class WebhookReceiver:
    """`with WebhookReceiver() as hook:` → `hook.url`; `hook.deliveries`, `hook.wait(n)`."""

    def __init__(self, port: int = 0) -> None:
        self.state = ReceiverState()
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Self:
        """Listen (again, on the same port once one was chosen)."""
        server = _QuietServer(("127.0.0.1", self.port), _handler(self.state))
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True, name="webhook")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: deliveries now fail with connection refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def deliveries(self) -> list[Delivery]:
        with self.state.lock:
            return list(self.state.deliveries)

    def answer(self, *statuses: int, default: int | None = None) -> None:
        """Answer these statuses to the next POSTs (then `default`, 200 unless given)."""
        with self.state.lock:
            self.state.statuses[:] = list(statuses)
            if default is not None:
                self.state.default_status = default

    def accepted(self) -> list[Delivery]:
        """The POSTs answered 2xx."""
        return [d for d in self.deliveries if 200 <= d.status < 300]

    def wait(
        self,
        count: int,
        timeout: float = 30.0,
        where: Callable[[Delivery], bool] | None = None,
    ) -> list[Delivery]:
        """Block until `count` POSTs (answered 2xx, or matching `where`) arrived; return them."""
        deadline = time.monotonic() + timeout
        while True:
            got = [d for d in self.deliveries if (where or _ok)(d)]
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(got)} of {count} webhook deliveries after {timeout}s")
            time.sleep(0.02)


def _ok(delivery: Delivery) -> bool:
    return 200 <= delivery.status < 300


def port_closed(port: int) -> bool:
    """True when nothing accepts connections on 127.0.0.1:port."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) != 0
