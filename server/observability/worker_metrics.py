"""Metrics of the whole service under `uvicorn --workers N`: every worker's figures, summed.

Each worker answers its raw figures on a Unix socket in a directory of its uvicorn run (named
after the supervisor process, removed with it); the worker asked for /metrics reads its
siblings' and adds them up. Nothing is written per turn. A single process reads only itself.
"""

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from server.lifecycle.process_identity import process_owner, start_time
from server.observability.metrics import Metrics, merge_exposition, merge_raw

log = logging.getLogger(__name__)

RUN_PREFIX = "maravia-workers-"
PEER_TIMEOUT = 2.0


def run_directory(base: Path | None = None) -> Path | None:
    """The shared directory of this uvicorn run (None when not started by a supervisor)."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return None
    tag = process_owner(parent.pid).split(":", 1)[1].replace(":", "-")
    return (base or Path(tempfile.gettempdir())) / f"{RUN_PREFIX}{tag}"


def remove_dead_runs(base: Path) -> None:
    """Delete the directories of uvicorn runs whose supervisor is gone."""
    for path in base.glob(f"{RUN_PREFIX}*"):
        pid, _, start = path.name[len(RUN_PREFIX) :].partition("-")
        if pid.isdigit() and start_time(int(pid)) != start:
            shutil.rmtree(path, ignore_errors=True)


class WorkerMetrics:
    """The service's figures: this worker's Metrics plus those of its live siblings."""

    def __init__(self, metrics: Metrics, directory: Path | None) -> None:
        self.metrics = metrics
        self.directory = directory
        self._server: asyncio.AbstractServer | None = None

    @property
    def _socket(self) -> Path:
        assert self.directory is not None
        return self.directory / f"{os.getpid()}.sock"

    async def start(self) -> None:
        if self.directory is None:
            return
        try:
            remove_dead_runs(self.directory.parent)
            self.directory.mkdir(mode=0o700, exist_ok=True)
            self._server = await asyncio.start_unix_server(self._answer, path=str(self._socket))
        except OSError as exc:  # the service still runs; /metrics shows this worker alone
            log.warning("worker metrics not shared", extra={"error": type(exc).__name__})
            self.directory = None

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._socket.unlink(missing_ok=True)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(json.dumps(self._mine()).encode())
            await writer.drain()
        finally:
            writer.close()

    def _mine(self) -> dict[str, Any]:
        return {"worker": os.getpid(), **self.metrics.raw()}

    async def _peer(self, path: Path) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(PEER_TIMEOUT):
                reader, writer = await asyncio.open_unix_connection(str(path))
                data = await reader.read()
                writer.close()
            return dict(json.loads(data))
        except (ConnectionRefusedError, FileNotFoundError):  # a worker that exited
            path.unlink(missing_ok=True)
        except (OSError, TimeoutError, ValueError) as exc:
            log.warning("worker metrics unreadable", extra={"error": type(exc).__name__})
        return None

    async def gather(self) -> list[dict[str, Any]]:
        """Raw figures of every live worker, this one first."""
        mine = self._mine()
        if self.directory is None:
            return [mine]
        others = [p for p in self.directory.glob("*.sock") if p != self._socket]
        peers = await asyncio.gather(*(self._peer(path) for path in sorted(others)))
        return [mine, *(peer for peer in peers if peer is not None)]

    async def snapshot(self) -> dict[str, object]:
        """The JSON of GET /metrics for the whole service."""
        return merge_raw(await self.gather())

    async def exposition(self) -> bytes:
        """The Prometheus text of the whole service."""
        return merge_exposition(await self.gather())


@asynccontextmanager
async def open_worker_metrics(metrics: Metrics) -> AsyncIterator[WorkerMetrics]:
    """Serve this worker's figures to its siblings while the app runs."""
    shared = WorkerMetrics(metrics, run_directory())
    await shared.start()
    try:
        yield shared
    finally:
        with contextlib.suppress(OSError):
            await shared.aclose()
