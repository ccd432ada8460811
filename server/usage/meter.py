"""The per-turn meter: which key a turn runs on, whether its budget holds it offline, and its
tokens and cost counted in the metrics and added to the usage table (one upsert per turn)."""

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from graph.usage import TurnUsage
from server.observability.metrics import CompanyLabels, UsageMetrics
from server.settings import Settings
from server.storage.backend import STORAGE_ERRORS, STORAGE_REJECTED
from server.storage.usage import NO_COMPANY, UsageRow, UsageStore
from server.usage.budget import BudgetGate, month_start
from server.usage.prices import Pricing

log = logging.getLogger(__name__)

Key = Literal["company", "server"]
AGENT_KEY = "agent"
NO_MODEL = "none"
TOP_COMPANIES_DAYS = 31


@dataclass(frozen=True)
class TurnCost:
    """A turn's model tokens and their cost (agents' reported tokens apart)."""

    key: Key
    input_tokens: int
    output_tokens: int
    cost_usd: float
    agent_tokens: int
    rows: tuple[UsageRow, ...]

    def fields(self) -> dict[str, Any]:
        """For the turn's log line and its LangSmith metadata."""
        return {
            "llm_key": self.key,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "agent_tokens": self.agent_tokens,
        }


class UsageMeter:
    """Built once per app: prices, budgets, the usage store and the usage metrics."""

    def __init__(
        self, settings: Settings, store: UsageStore, metrics: UsageMetrics, budgets: BudgetGate
    ) -> None:
        self._settings = settings
        self.store = store
        self.pricing = Pricing(settings.MODEL_PRICES, settings.OPENAI_MODEL)
        self._metrics = metrics
        self.budgets = budgets
        self.last_write_ms = 0.0
        """How long the last upsert took (measured for the README's figure)."""

    def key_of(self, company_key: str | None) -> Key:
        """`company` when the turn's model calls use the company's key, else `server`."""
        if company_key and self._settings.LLM_MODE != "offline":
            return "company"
        return "server"

    async def held_offline(self, key: Key, company: int | None) -> bool:
        """True (and counted) when this server-key turn's company spent its month's budget."""
        if key != "server" or not self.budgets.enabled or not self._settings.llm_enabled:
            return False
        if not await self.budgets.exceeded(company or NO_COMPANY):
            return False
        self._metrics.budget_exceeded(company)
        log.info("company past its server-key budget; routed offline")
        return True

    def cost(
        self,
        usage: TurnUsage,
        *,
        key: Key,
        company: int | None,
        action: str | None,
        agent: str | None,
        held: bool,
    ) -> TurnCost:
        """The turn's rows (one per model; the turn counted once) and its totals."""
        day = datetime.now(UTC).date().isoformat()
        who = company or NO_COMPANY
        act, by = action or "error", agent or ""
        rows: list[UsageRow] = []
        total_in = total_out = 0
        total_cost = 0.0
        for model, tokens in sorted(usage.models.items()):
            name = self.pricing.name(model)
            cost = self.pricing.cost(name, tokens.input, tokens.output)
            rows.append(
                UsageRow(who, day, key, name, act, by, 0, tokens.input, tokens.output, cost)
            )
            total_in, total_out, total_cost = (
                total_in + tokens.input,
                total_out + tokens.output,
                total_cost + cost,
            )
        if not rows:  # the turn's own row comes first: it counts the turn
            rows.append(UsageRow(who, day, key, NO_MODEL, act, by))
        agent_tokens = 0
        for name, tokens in sorted(usage.agents.items()):
            rows.append(
                UsageRow(who, day, AGENT_KEY, name, act, name, 0, tokens.input, tokens.output)
            )
            agent_tokens += tokens.input + tokens.output
        first = rows[0]
        rows[0] = UsageRow(
            *_head(first),
            turns=1,
            input_tokens=first.input_tokens,
            output_tokens=first.output_tokens,
            cost_usd=first.cost_usd,
            budget_exceeded=int(held),
        )
        return TurnCost(key, total_in, total_out, total_cost, agent_tokens, tuple(rows))

    async def record(self, turn: TurnCost, company: int | None) -> None:
        """Count the turn in the metrics and add it to the usage table (a failure is logged,
        never the turn's: its reply is already decided)."""
        for row in turn.rows:
            if row.key == AGENT_KEY:
                self._metrics.agent_tokens(row.agent, (row.input_tokens, row.output_tokens))
            elif row.input_tokens or row.output_tokens:
                tokens = (row.input_tokens, row.output_tokens)
                self._metrics.tokens(row.model, row.key, company, tokens, row.cost_usd)
        if turn.key == "server":
            self.budgets.spent(company or NO_COMPANY, turn.input_tokens + turn.output_tokens)
        started = time.perf_counter()
        try:
            await self.store.add(turn.rows)
        except (*STORAGE_ERRORS, *STORAGE_REJECTED) as exc:
            log.warning("turn usage not stored", extra={"error": type(exc).__name__})
        self.last_write_ms = (time.perf_counter() - started) * 1000


def _head(row: UsageRow) -> tuple[int, str, str, str, str, str]:
    return row.id_empresa, row.day, row.key, row.model, row.action, row.agent


async def top_companies(store: UsageStore, limit: int) -> list[int]:
    """The companies that spent the most tokens this month (for the bounded metric label)."""
    try:
        rows = await store.rows(month_start().date(), datetime.now(UTC).date(), None)
    except STORAGE_ERRORS:
        return []
    volume: dict[int, int] = {}
    for row in rows:
        volume[row.id_empresa] = (
            volume.get(row.id_empresa, 0) + row.input_tokens + row.output_tokens
        )
    return sorted(volume, key=lambda company: -volume[company])[:limit]


@asynccontextmanager
async def open_meter(
    settings: Settings, store: UsageStore, metrics: Any
) -> AsyncIterator[UsageMeter]:
    """The meter, its metrics registered in `metrics.registry`."""
    labels = None
    if settings.METRICS_COMPANY_LABEL:
        limit = settings.METRICS_COMPANY_LABEL_MAX
        labels = CompanyLabels(limit, await top_companies(store, limit))
    budgets = BudgetGate(
        store,
        settings.SERVER_KEY_MONTHLY_TOKENS,
        settings.SERVER_KEY_COMPANY_BUDGETS,
        settings.USAGE_BUDGET_REFRESH_SECONDS,
    )
    yield UsageMeter(settings, store, UsageMetrics(metrics.registry, labels), budgets)
