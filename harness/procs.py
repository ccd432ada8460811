"""Subprocess helpers for tests: free ports, readiness waits, and a managed server process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx

from harness import REPO_ROOT

LOOPBACK_NO_PROXY = "127.0.0.1,localhost,::1"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (prefer binding port 0 yourself when you can)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Block until host:port accepts connections (TimeoutError otherwise)."""
    deadline = time.monotonic() + timeout
    while not port_open(port, host):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")
        time.sleep(0.05)


def wait_for_http(url: str, timeout: float = 10.0, any_status: bool = True) -> httpx.Response:
    """Block until GET url answers (any status, or 2xx when any_status=False)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=1.0, trust_env=False)
            if any_status or r.is_success:
                return r
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout}s (last: {last!r})")


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ for a child: repo on PYTHONPATH, loopback NO_PROXY, no real OpenAI key."""
    env = dict(os.environ)
    env.pop("OPENAI_API_KEY", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_PROXY"] = env["no_proxy"] = LOOPBACK_NO_PROXY
    env.setdefault("COLUMNS", "160")  # readable rich tracebacks in log files
    env.update(extra or {})
    return env


class ServerProcess:
    """A child process whose output goes to a log file; `start()` waits for `ready_url`."""

    def __init__(
        self,
        args: Sequence[object],
        *,
        name: str,
        log_dir: Path | str,
        env: Mapping[str, str] | None = None,
        cwd: Path | str = REPO_ROOT,
        ready_url: str | None = None,
        ready_port: int | None = None,
        ready_timeout: float = 20.0,
    ) -> None:
        self.args = [str(a) for a in args]
        self.name = name
        self.log_path = Path(log_dir) / f"{name}.log"
        self.env = child_env(env)
        self.cwd = str(cwd)
        self.ready_url = ready_url
        self.ready_port = ready_port
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @classmethod
    def python_module(cls, module: str, *argv: object, **kwargs: Any) -> ServerProcess:
        """ServerProcess running `python -m module argv...` with this interpreter."""
        args = [sys.executable, "-m", module, *map(str, argv)]
        return cls(args, **kwargs)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the process log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> ServerProcess:
        """Spawn the process (appending to its log) and wait until it is ready."""
        self.spawn()
        self.wait_ready()
        return self

    def spawn(self) -> ServerProcess:
        """Spawn the process without waiting (pair with `wait_ready()` to start several at once)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - open for the child's life
        self._log.write(f"\n=== start: {' '.join(self.args)}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            self.args,
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait for ready_url (any HTTP answer) / ready_port; RuntimeError with the log tail."""
        deadline = time.monotonic() + (timeout or self.ready_timeout)
        while True:
            if not self.alive:
                raise RuntimeError(
                    f"{self.name} exited with code {self.returncode} before it was ready; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if self._ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.name} not ready at {self.ready_url or self.ready_port} after "
                    f"{timeout or self.ready_timeout}s; log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _ready(self) -> bool:
        if self.ready_url:
            try:
                httpx.get(self.ready_url, timeout=0.5, trust_env=False)
                return True
            except httpx.HTTPError:
                return False
        if self.ready_port:
            return port_open(self.ready_port)
        return True

    def _signal(self, sig: int) -> None:
        if self.alive and self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)  # our own session: the child and its children

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.proc is None:
            return None
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.wait(5)
        self._close_log()
        return self.proc.returncode

    def kill9(self) -> None:
        """SIGKILL now (a crash) and reap it."""
        if self.proc is not None:
            self._signal(signal.SIGKILL)
            self.proc.wait(5)
        self._close_log()

    def restart(self) -> ServerProcess:
        """Stop (if running) and start again with the same command, port and log."""
        if self.alive:
            self.stop()
        return self.start()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
