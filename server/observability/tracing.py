"""LangSmith tracing of chat turns: one root run per turn, with the graph's runs nested under it."""

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from langsmith import Client, trace, tracing_context
from langsmith.anonymizer import create_secret_anonymizer
from langsmith.run_trees import RunTree
from langsmith.utils import LangSmithError

from server.observability.request_ids import current_request_id
from server.schemas import ChatRequest, ChatResponse
from server.settings import Settings
from server.turn.secrets import current_turn_secrets

log = logging.getLogger(__name__)

ROOT_RUN = "turn"
SERVICE = "orquestador"
REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(  # a whole name part: `token_whatsapp` yes, `max_tokens` no
    r"(?i)(?:^|[_\-. ])(?:api[_\-]?key|apikey|token|secret|password|passwd|authorization|"
    r"credentials?|private[_\-]?key)(?:$|[_\-. ])"
)


def secret_redactor() -> Callable[[Any], Any]:
    """Mask values under secret-looking keys, then key-looking strings anywhere (LangSmith)."""
    by_value = create_secret_anonymizer()

    def by_name(data: Any) -> Any:
        if isinstance(data, Mapping):
            return {
                key: REDACTED
                if isinstance(key, str) and _SECRET_NAME.search(key) and value not in (None, "")
                else by_name(value)
                for key, value in data.items()
            }
        if isinstance(data, list):
            return [by_name(item) for item in data]
        return data

    def by_turn(data: Any) -> Any:  # the company's key of the turn being traced, anywhere
        secrets = current_turn_secrets.get()
        return _masked(data, secrets) if secrets else data

    return lambda data: by_value(by_name(by_turn(data)))


def _masked(data: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(data, str):
        for secret in secrets:
            data = data.replace(secret, REDACTED)
        return data
    if isinstance(data, Mapping):
        return {key: _masked(value, secrets) for key, value in data.items()}
    if isinstance(data, list):
        return [_masked(item, secrets) for item in data]
    return data


@lru_cache(maxsize=4)
def langsmith_client(endpoint: str, api_key: str | None) -> Client:
    """The client (and its background sender) shared by every turn traced to one endpoint/key."""
    return Client(
        api_url=endpoint,
        api_key=api_key,
        anonymizer=secret_redactor(),
        omit_traced_runtime_info=True,
    )


def client_for(settings: Settings) -> Client | None:
    """The LangSmith client when tracing is on (None when off, or when it cannot be built)."""
    if not settings.LANGSMITH_TRACING:
        return None
    key = settings.LANGSMITH_API_KEY.get_secret_value() if settings.LANGSMITH_API_KEY else None
    try:
        return langsmith_client(settings.LANGSMITH_ENDPOINT.rstrip("/"), key or None)
    except (LangSmithError, ValueError) as exc:
        log.warning(
            "LangSmith tracing disabled: client not built", extra={"error": type(exc).__name__}
        )
        return None


class TurnTrace:
    """The root run of one turn (inert when tracing is off): `finish()` records the outcome."""

    def __init__(self, run: RunTree | None) -> None:
        self._run = run

    def finish(self, outcome: ChatResponse, usage: Mapping[str, Any] | None = None) -> None:
        """Record the turn's reply, agent and action, and its tokens and cost when given."""
        if self._run is None:
            return
        agent, action = outcome.agent_used, outcome.action
        self._run.metadata.update({"agent_used": agent, "action": action, **(usage or {})})
        tags = [f"action:{action}", f"agent:{agent or 'none'}"]
        self._run.tags = [*(self._run.tags or []), *tags]
        self._run.end(outputs={"reply": outcome.reply, "agent_used": agent, "action": action})


def turn_metadata(request: ChatRequest, conversation: str) -> dict[str, Any]:
    """What groups and filters the turn in LangSmith (threads by the conversation key: company
    and session id); no message text."""
    return {
        "session_id": conversation,
        "thread_id": conversation,
        "id_empresa": request.company,
        "request_id": current_request_id.get(),
        "nombre_bot": request.config.nombre_bot,
        "service": SERVICE,
    }


@contextmanager
def turn_trace(request: ChatRequest, settings: Settings, conversation: str) -> Iterator[TurnTrace]:
    """Wrap one graph invocation: a root run when LANGSMITH_TRACING is on, nothing sent when off."""
    client = client_for(settings)
    if client is None:
        with tracing_context(enabled=False):  # also keeps LangChain's env-driven tracer off
            yield TurnTrace(None)
        return
    project = settings.LANGSMITH_PROJECT
    tags = [SERVICE, f"empresa:{request.company}"]
    with (
        tracing_context(enabled=True, client=client, project_name=project),
        trace(
            ROOT_RUN,
            "chain",
            client=client,
            project_name=project,
            inputs={"message": request.message, "session_id": request.session_key},
            metadata=turn_metadata(request, conversation),
            tags=tags,
        ) as run,
    ):
        yield TurnTrace(run)
