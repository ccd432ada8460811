"""GET /usage's figures from stored rows: per company, per day and totals; CSV rows."""

import csv
import io
from collections.abc import Iterable
from typing import Any

from server.storage.usage import COLUMNS, NO_COMPANY, UsageRow

AGENT_KEY = "agent"
FIGURES = ("turns", "input_tokens", "output_tokens", "cost_usd", "budget_exceeded")


def _empty() -> dict[str, Any]:
    return {
        "turns": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "budget_exceeded": 0,
    }


def _add(into: dict[str, Any], row: UsageRow) -> None:
    for name in FIGURES:
        into[name] += getattr(row, name)


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {**figures, "cost_usd": round(figures["cost_usd"], 8)}


def _company(id_empresa: int | None) -> int | None:
    return None if id_empresa == NO_COMPANY else id_empresa


def summarize(rows: Iterable[UsageRow]) -> dict[str, Any]:
    """Totals and days over every row, and each company's, sorted by cost (then tokens).

    `input_tokens`, `output_tokens` and `cost_usd` are the service's model calls (the company's
    key and the server's); the tokens agents reported are under `by_key.agent`.
    """
    totals, days = _empty(), dict[str, dict[str, Any]]()
    companies: dict[int, dict[str, Any]] = {}
    for row in rows:
        company = companies.setdefault(
            row.id_empresa,
            {
                "id_empresa": _company(row.id_empresa),
                **_empty(),
                "by_key": {},
                "by_model": {},
                "turns_by_action": {},
                "turns_by_agent": {},
                "days": {},
            },
        )
        _add(company["by_key"].setdefault(row.key, _empty()), row)
        if row.turns:
            company["turns_by_action"][row.action] = (
                company["turns_by_action"].get(row.action, 0) + row.turns
            )
            if row.agent:
                company["turns_by_agent"][row.agent] = (
                    company["turns_by_agent"].get(row.agent, 0) + row.turns
                )
        counted = row if row.key != AGENT_KEY else _turns_only(row)
        if row.key != AGENT_KEY:
            _add(company["by_model"].setdefault(row.model, _empty()), row)
        for into in (
            totals,
            company,
            days.setdefault(row.day, _empty()),
            company["days"].setdefault(row.day, _empty()),
        ):
            _add(into, counted)
    listed = []
    for company in companies.values():
        company["by_key"] = {k: _rounded(v) for k, v in company["by_key"].items()}
        company["by_model"] = {k: _rounded(v) for k, v in company["by_model"].items()}
        company["days"] = [
            {"day": day, **_rounded(v)} for day, v in sorted(company["days"].items())
        ]
        listed.append(_rounded(company))
    listed.sort(
        key=lambda c: (
            -c["cost_usd"],
            -(c["input_tokens"] + c["output_tokens"]),
            c["id_empresa"] or 0,
        )
    )
    return {
        "totals": _rounded(totals),
        "days": [{"day": day, **_rounded(v)} for day, v in sorted(days.items())],
        "companies": listed,
    }


def _turns_only(row: UsageRow) -> UsageRow:
    """An agent's row counts its turns in the totals, not its tokens (they are the agent's)."""
    return UsageRow(*(getattr(row, c) for c in COLUMNS[:7]))


def to_csv(rows: Iterable[UsageRow]) -> str:
    """The stored rows as CSV with a header row (one line per day, company, key, model, action
    and agent)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = [getattr(row, c) for c in COLUMNS]
        values[0] = "" if row.id_empresa == NO_COMPANY else row.id_empresa
        values[9] = f"{row.cost_usd:.8f}"
        writer.writerow(values)
    return out.getvalue()
