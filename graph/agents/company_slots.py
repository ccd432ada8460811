"""An agent's concurrency slots shared fairly between companies: while another company waits for
the agent, no company is given more than its share; when nobody else waits, one may use them all."""

import asyncio
from collections import deque
from collections.abc import Hashable

Company = Hashable
"""A company's id (`id_empresa`; None for a call without one)."""


class CompanySlots:
    """`total` slots; a call takes one (waiting its turn when none is free) and gives it back.

    A free slot goes to the first waiting call whose company holds fewer than `per_company`
    slots; only when every waiting company holds its share or more does it go to the one holding
    the fewest (first come first served among equals), so a free slot never stays idle. With a
    free slot and nobody waiting a call takes it at once: the uncontended path costs what a
    semaphore does.
    """

    def __init__(self, total: int, per_company: int | None = None) -> None:
        self.total = total
        share = per_company if per_company is not None else total // 2
        self.per_company = max(1, min(share, total))
        self._in_use = 0
        self._held: dict[Company, int] = {}
        self._waiters: deque[tuple[Company, asyncio.Future[None]]] = deque()

    def held(self, company: Company) -> int:
        """Slots `company` holds now."""
        return self._held.get(company, 0)

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot."""
        return len(self._waiters)

    async def acquire(self, company: Company) -> None:
        """Take a slot for `company`, waiting for one when none is free (cancellable)."""
        if self._in_use < self.total and not self._waiters:
            self._take(company)
            return
        entry = (company, asyncio.get_running_loop().create_future())
        self._waiters.append(entry)
        try:
            await entry[1]
        except BaseException:
            if entry[1].done() and not entry[1].cancelled():
                self.release(company)  # granted as the wait was cancelled: hand it on
            else:
                self._waiters.remove(entry)
            raise

    def release(self, company: Company) -> None:
        """Give back a slot `company` took; the next waiting call (by the rule above) gets it."""
        left = self._held[company] - 1
        if left:
            self._held[company] = left
        else:
            del self._held[company]
        self._in_use -= 1
        while self._in_use < self.total and self._waiters:
            entry = self._next()
            self._waiters.remove(entry)
            if entry[1].done():  # cancelled while waiting
                continue
            self._take(entry[0])
            entry[1].set_result(None)

    def _take(self, company: Company) -> None:
        self._held[company] = self._held.get(company, 0) + 1
        self._in_use += 1

    def _next(self) -> tuple[Company, asyncio.Future[None]]:
        fewest = self._waiters[0]
        for entry in self._waiters:
            held = self.held(entry[0])
            if held < self.per_company:
                return entry
            if held < self.held(fewest[0]):
                fewest = entry
        return fewest
