"""JSON log lines (timestamp, level, logger, message, extra_fields) with privacy scrubbing."""

import json
import logging
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from common.url_mask import mask_urls_in
from server.observability.request_ids import RequestIdFilter
from server.turn.secrets import current_turn_secrets

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_PHONE = re.compile(r"(?<!\d)\+?\d[\d \-]{6,}\d(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_SECRET = re.compile(r"(?i)(bearer\s+|sk-|lsv2_|api[_-]?key[\"'=:\s]+)[\w\-.]{6,}")
# "reason" carries an agent's error text, which may echo the user's message (DEBUG only)
# ids to grep for, never user text: a sane X-Request-ID or ours; our error ids (random hex) and
# session refs (hashed hex), which would be masked as phone numbers when 8+ digits line up
UNSCRUBBED_KEYS = {"request_id", "error_id", "session", "delivery_id"}
SENSITIVE_KEYS = {
    "message_text",
    "text",
    "config",
    "api_key",
    "authorization",
    "password",
    "reason",
}


def scrub(text: str) -> str:
    """Mask phone numbers, e-mail addresses and key-looking strings."""
    text = _SECRET.sub(lambda m: m.group(1) + "***", text)
    text = _EMAIL.sub("<email>", text)
    return _PHONE.sub("<phone>", text)


class OrchestratorJsonFormatter(JsonFormatter):
    """One JSON object per line; extras go under `extra_fields`; INFO+ lines are scrubbed;
    configured secrets (API keys, passwords) and the current turn's company key are masked at
    every level."""

    def __init__(self, *args: Any, secrets: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        turn = current_turn_secrets.get()
        secrets = sorted({*self._secrets, *turn}, key=len, reverse=True) if turn else self._secrets
        for secret in secrets:
            line = line.replace(secret, "***").replace(json.dumps(secret)[1:-1], "***")
        return mask_urls_in(line)  # any URL's password and secret query values

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        debug = record.levelno < logging.INFO
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        }
        if not debug:
            extras = {key: value for key, value in extras.items() if key not in SENSITIVE_KEYS}
        log_data["timestamp"] = (
            datetime.fromtimestamp(record.created, UTC)
            .astimezone()
            .isoformat(timespec="milliseconds")
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = scrub(record.getMessage())
        log_data["extra_fields"] = {
            key: value if key in UNSCRUBBED_KEYS else _scrub_value(value)
            for key, value in extras.items()
        }
        if record.exc_info:
            log_data["exc_info"] = scrub(str(self.formatException(record.exc_info)))


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (list, tuple)):
        return [_scrub_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _scrub_value(item) for key, item in value.items()}
    return value


def configure_logging(level: str, secrets: Sequence[str] = ()) -> None:
    """Route every logger (ours, uvicorn's, libraries') through the JSON formatter on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(OrchestratorJsonFormatter(secrets=secrets))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # access lines carry paths/ids
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2", "mcp", "openai"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
