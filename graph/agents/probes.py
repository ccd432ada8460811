"""Agent probes for /ready: each agent's last probe reused for a few seconds, one at a time."""

import asyncio
import time
from collections.abc import Awaitable, Callable


class ProbeCache:
    """Remembers each agent's last probe for `interval` seconds; concurrent callers share the
    probe in flight (so a burst of /ready costs one probe per agent)."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[str, tuple[float, bool]] = {}
        self._running: dict[str, asyncio.Task[bool]] = {}

    async def get(self, name: str, probe: Callable[[], Awaitable[bool]]) -> bool:
        """The agent's probe result, fresh or at most `interval` seconds old."""
        last = self._last.get(name)
        if last is not None and time.monotonic() - last[0] < self._interval:
            return last[1]
        task = self._running.get(name)
        if task is None:
            task = asyncio.create_task(self._run(name, probe), name=f"probe-{name}")
            self._running[name] = task
        return await asyncio.shield(task)

    async def _run(self, name: str, probe: Callable[[], Awaitable[bool]]) -> bool:
        try:
            ok = await probe()
            self._last[name] = (time.monotonic(), ok)
            return ok
        finally:
            self._running.pop(name, None)
