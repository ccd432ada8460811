"""Load generator: concurrent chat sessions over keep-alive HTTP/1.1, run in its own process."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop

from bench.stats import summary
from bench.workload import CHAT_PATH, CONFIG, DELEGATE_MESSAGE
from harness import REPO_ROOT
from harness.procs import child_env


def chat_body(message: str, session_id: str) -> bytes:
    """The JSON body of one chat turn with the benchmark's bot config."""
    return json.dumps(
        {"message": message, "session_id": session_id, "config": CONFIG}, ensure_ascii=False
    ).encode()


class HttpConnection:
    """A minimal keep-alive HTTP/1.1 client connection (far cheaper per request than httpx)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST body (JSON); (status, response body). Reopens a keep-alive connection once."""
        reused = self._writer is not None
        if not reused:
            await self._open()
        try:
            return await self._exchange(path, body)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if not reused:
                raise
            await self._open()
            return await self._exchange(path, body)

    async def _exchange(self, path: str, body: bytes) -> tuple[int, bytes]:
        assert self._reader is not None and self._writer is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode() + body)
        status_line = await self._reader.readline()
        if not status_line:
            raise ConnectionResetError("connection closed by the server")
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self._reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self._reader.readline()
                    break
                parts.append(await self._reader.readexactly(size))
                await self._reader.readline()
            data = b"".join(parts)
        elif length is not None:
            data = await self._reader.readexactly(length)
        else:
            data = await self._reader.read()
            close = True
        if close:
            self.close()
        return status, data


@dataclass
class LoadResult:
    """What one load run measured (latencies in ms, in completion order)."""

    label: str
    latencies_ms: list[float]
    elapsed_s: float
    errors: int
    status: dict[str, int]
    actions: dict[str, int]
    first_error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        """Successful turns per second of wall time."""
        return self.turns / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> dict[str, float]:
        return summary(self.latencies_ms)

    def describe(self) -> str:
        s = self.summary()
        return (
            f"{self.label}: {self.turns} turns in {self.elapsed_s:.1f}s = "
            f"{self.throughput:.0f} turns/s; latency p50 {s['p50']:.1f} p95 {s['p95']:.1f} "
            f"p99 {s['p99']:.1f} max {s['max']:.1f} ms; errors {self.errors}; "
            f"actions {self.actions}"
        )


async def _generate(args: argparse.Namespace) -> dict[str, Any]:
    targets = [urlsplit(url) for url in args.url]
    labels = (
        args.label
        if len(args.label) == len(targets)
        else [
            f"{args.label[0]}-{i}" if len(targets) > 1 else args.label[0]
            for i in range(len(targets))
        ]
    )
    script = args.message * args.repeat
    sessions: asyncio.Queue[str] = asyncio.Queue()
    for i in range(args.sessions):
        sessions.put_nowait(f"{args.session_prefix}-{i}")
    total = args.sessions * len(script)
    latencies: list[list[float]] = [[] for _ in targets]
    status: list[Counter[str]] = [Counter() for _ in targets]
    actions: list[Counter[str]] = [Counter() for _ in targets]
    errors = [0 for _ in targets]
    first_error: list[str | None] = [None for _ in targets]
    deadline = time.monotonic() + args.max_seconds
    started = time.perf_counter()

    async def one_turn(i: int, conn: HttpConnection, body: bytes) -> None:
        t0 = time.perf_counter()
        try:
            code, data = await conn.post(args.path, body)
        except Exception as exc:  # counted, reported, never fatal
            errors[i] += 1
            status[i]["exc"] += 1
            first_error[i] = first_error[i] or f"{type(exc).__name__}: {exc}"
            conn.close()
            return
        elapsed = (time.perf_counter() - t0) * 1000
        status[i][str(code)] += 1
        if code != 200:
            errors[i] += 1
            first_error[i] = first_error[i] or f"HTTP {code}: {data[:300]!r}"
            return
        latencies[i].append(elapsed)
        try:
            actions[i][json.loads(data).get("action") or "none"] += 1
        except ValueError:
            actions[i]["bad-json"] += 1

    async def worker() -> None:
        conns = [HttpConnection(t.hostname or "127.0.0.1", t.port or 80) for t in targets]
        try:
            while time.monotonic() < deadline:
                try:
                    sid = sessions.get_nowait()
                except asyncio.QueueEmpty:
                    return
                for message in script:
                    if time.monotonic() >= deadline:
                        return
                    body = chat_body(message, sid)
                    for i, conn in enumerate(conns):  # several targets: the same turn to each
                        await one_turn(i, conn, body)
        finally:
            for conn in conns:
                conn.close()

    async def progress() -> None:
        last_n, last_t = 0, time.perf_counter()
        while True:
            await asyncio.sleep(args.progress)
            now, n = time.perf_counter(), len(latencies[-1])
            rate = (n - last_n) / (now - last_t)
            print(
                f"    [{labels[-1]}] {n}/{total} turns, {rate:.0f} turns/s, "
                f"errors {sum(errors)}, load avg {os.getloadavg()[0]:.1f}",
                file=sys.stderr,
                flush=True,
            )
            last_n, last_t = n, now

    reporter = asyncio.create_task(progress()) if args.progress > 0 else None
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    if reporter is not None:
        reporter.cancel()
    timed_out = time.monotonic() >= deadline
    return {
        "results": [
            {
                "label": labels[i],
                "latencies_ms": latencies[i],
                "elapsed_s": elapsed,
                "errors": errors[i],
                "status": dict(status[i]),
                "actions": dict(actions[i]),
                "first_error": first_error[i],
                "extra": {"planned": total, "timed_out": timed_out, "load_avg": os.getloadavg()[0]},
            }
            for i in range(len(targets))
        ]
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--url",
        action="append",
        required=True,
        help="server root, e.g. http://127.0.0.1:8000; repeat it to send every turn "
        "to each server in turn (paired measurement)",
    )
    p.add_argument("--path", default=CHAT_PATH)
    p.add_argument("--concurrency", type=int, default=50, help="sessions in flight at once")
    p.add_argument("--sessions", type=int, default=50, help="distinct sessions in all")
    p.add_argument(
        "--message",
        action="append",
        default=None,
        help="one turn of each session's script (repeat the flag for several turns)",
    )
    p.add_argument("--repeat", type=int, default=1, help="times each session runs its script")
    p.add_argument("--session-prefix", default="bench")
    p.add_argument("--max-seconds", type=float, default=120.0, help="hard stop")
    p.add_argument("--label", action="append", default=None, help="one per --url")
    p.add_argument("--progress", type=float, default=5.0, help="seconds between progress lines")
    p.add_argument("--out", required=True, help="JSON result file")
    args = p.parse_args(argv)
    args.message = args.message or [DELEGATE_MESSAGE]
    args.label = args.label or ["load"]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = uvloop.run(_generate(args))  # uvloop ships with uvicorn[standard]
    Path(args.out).write_text(json.dumps(result))


def run_load(
    url: str,
    *,
    label: str,
    concurrency: int,
    sessions: int,
    repeat: int = 1,
    messages: list[str] | None = None,
    session_prefix: str | None = None,
    max_seconds: float = 120.0,
    progress: float = 5.0,
) -> LoadResult:
    """Run the load generator against one server in a child process (its own core time)."""
    return run_paired(
        [url],
        labels=[label],
        concurrency=concurrency,
        sessions=sessions,
        repeat=repeat,
        messages=messages,
        session_prefix=session_prefix,
        max_seconds=max_seconds,
        progress=progress,
    )[0]


def run_paired(
    urls: list[str],
    *,
    labels: list[str],
    concurrency: int,
    sessions: int,
    repeat: int = 1,
    messages: list[str] | None = None,
    session_prefix: str | None = None,
    max_seconds: float = 120.0,
    progress: float = 5.0,
) -> list[LoadResult]:
    """Like run_load; with several urls every turn goes to each in turn (same conditions)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        out = tmp.name
    argv = [
        sys.executable,
        "-m",
        "bench.load",
        "--concurrency",
        str(concurrency),
        "--sessions",
        str(sessions),
        "--repeat",
        str(repeat),
        "--session-prefix",
        session_prefix or f"{labels[0]}-{time.time_ns()}",
        "--max-seconds",
        str(max_seconds),
        "--progress",
        str(progress),
        "--out",
        out,
    ]
    for url, label in zip(urls, labels, strict=True):
        argv += ["--url", url, "--label", label]
    for message in messages or [DELEGATE_MESSAGE]:
        argv += ["--message", message]
    subprocess.run(argv, cwd=REPO_ROOT, env=child_env(), check=True, timeout=max_seconds + 60)
    data = json.loads(Path(out).read_text())
    Path(out).unlink(missing_ok=True)
    return [LoadResult(**item) for item in data["results"]]


if __name__ == "__main__":
    main()
