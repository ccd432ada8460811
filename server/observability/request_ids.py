"""Request ids: the client's sane X-Request-ID or a new one, in the response, logs and agents."""

import logging
import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

current_request_id: ContextVar[str] = ContextVar("request_id", default="")
"""The id of the request being handled (empty outside a request)."""


def accept_or_new(value: str | None) -> str:
    """The client's id when sane (<= 128 letters, digits, '.', '_', '-'), else a new one."""
    if value and _SANE.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets the request's id for everything it runs and returns it in X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(HEADER.lower().encode())
        request_id = accept_or_new(sent.decode("latin-1") if sent else None)
        token = current_request_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record made while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True
