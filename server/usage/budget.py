"""Monthly token budgets on the server's key: SERVER_KEY_MONTHLY_TOKENS and per-company ones.

The month's spend per company is read from the usage table at most every
USAGE_BUDGET_REFRESH_SECONDS (one query for every company) and this process's own turns are
added as they end, so the check costs no database round trip per turn; another worker's or
instance's turns are seen at the next refresh.
"""

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from server.storage.backend import STORAGE_ERRORS
from server.storage.usage import UsageStore

log = logging.getLogger(__name__)


def month_start(now: datetime | None = None) -> datetime:
    """The first instant of the current month (UTC)."""
    now = now or datetime.now(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class BudgetGate:
    """Whether a company has spent its month's tokens on the server's key."""

    def __init__(
        self,
        store: UsageStore,
        monthly: int,
        per_company: Mapping[int, int],
        refresh_seconds: float,
    ) -> None:
        self._store = store
        self._monthly = monthly
        self._per_company = dict(per_company)
        self._refresh = refresh_seconds
        self._spent: dict[int, int] = {}
        self._month = ""
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        """True when some budget is set."""
        return self._monthly > 0 or any(self._per_company.values())

    def budget(self, company: int) -> int:
        """The company's monthly tokens on the server's key (0: unlimited)."""
        return self._per_company.get(company, self._monthly)

    async def exceeded(self, company: int) -> bool:
        """True once the company's month spend on the server's key reached its budget."""
        limit = self.budget(company)
        if limit <= 0:
            return False
        await self._refresh_if_due()
        return self._spent.get(company, 0) >= limit

    def spent(self, company: int, tokens: int) -> None:
        """Add a turn of this process to the company's month spend."""
        if self.enabled and tokens:
            self._spent[company] = self._spent.get(company, 0) + tokens

    async def _refresh_if_due(self) -> None:
        start = month_start()
        month = start.strftime("%Y-%m")
        if month == self._month and time.monotonic() - self._read_at < self._refresh:
            return
        async with self._lock:
            if month == self._month and time.monotonic() - self._read_at < self._refresh:
                return
            try:
                spent = await self._store.server_tokens_since(start.date())
            except STORAGE_ERRORS as exc:  # keep the last figures: a budget never fails a turn
                log.warning("usage budgets not refreshed", extra={"error": type(exc).__name__})
                self._read_at = time.monotonic()
                return
            self._spent, self._month, self._read_at = spent, month, time.monotonic()
