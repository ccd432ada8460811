"""GET /usage (admin): turns, tokens and cost per company and day, as JSON or CSV."""

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from server.errors import STORAGE_DOWN, ApiError
from server.routes.dependencies import ServicesDep
from server.schemas import TOP_ID_EMPRESA, ErrorResponse
from server.storage.backend import STORAGE_ERRORS
from server.usage.report import summarize, to_csv

router = APIRouter(tags=["admin"])

BAD_DATE = "El parámetro '{name}' debe ser una fecha AAAA-MM-DD (se recibió '{value}')"
BAD_RANGE = "La fecha 'from' no puede ser posterior a 'to'"
TOO_LONG = "El rango de fechas no puede superar {days} días"
BAD_FORMAT = "El parámetro 'format' debe ser 'json' o 'csv'"
MAX_DAYS = 366


def _date(name: str, value: str | None, default: date) -> date:
    if value is None or not value.strip():
        return default
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(400, BAD_DATE.format(name=name, value=value[:40])) from None


def _company(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isdigit() or int(text) <= 0:
        raise ApiError(400, TOP_ID_EMPRESA)
    return int(text)


@router.get(
    "/usage",
    responses={
        200: {"content": {"text/csv": {}}},
        400: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)
async def usage(
    services: ServicesDep,
    id_empresa: str | None = Query(None, description="One company (default: every company)."),
    from_: str | None = Query(
        None, alias="from", description="First day (default: 1st of this month, UTC)."
    ),
    to: str | None = Query(None, description="Last day, inclusive (default: today, UTC)."),
    format: str = Query("json", description="`json` or `csv`."),
) -> Any:
    """Turns, input and output tokens and cost (USD, MODEL_PRICES) per company and day, the
    company's own key and the server's apart; every company sorted by cost when none is given."""
    today = datetime.now(UTC).date()
    first = _date("from", from_, today.replace(day=1))
    last = _date("to", to, today)
    company = _company(id_empresa)
    kind: Literal["json", "csv"]
    if format.strip().lower() not in ("json", "csv"):
        raise ApiError(400, BAD_FORMAT)
    kind = "csv" if format.strip().lower() == "csv" else "json"
    if first > last:
        raise ApiError(400, BAD_RANGE)
    if last - first > timedelta(days=MAX_DAYS - 1):
        raise ApiError(400, TOO_LONG.format(days=MAX_DAYS))
    try:
        rows = await services.usage.store.rows(first, last, company)
    except STORAGE_ERRORS:
        raise ApiError(503, STORAGE_DOWN) from None
    if kind == "csv":
        name = f"usage_{first.isoformat()}_{last.isoformat()}.csv"
        return Response(
            to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "id_empresa": company,
        "currency": "USD",
        **summarize(rows),
    }
