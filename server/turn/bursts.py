"""A customer message answered as DOUBLE_TEXTING says: its own turn (enqueue), refused while its
conversation is busy (reject), or joined with the rest of its burst into one turn (merge).

merge: each request puts its message in the burst buffer (server/storage/burst_buffer.py) and
waits. A later message of the conversation marks it merged, and it answers `merged` at once. The
request holding the newest message, once MERGE_WINDOW_SECONDS pass with no new message (or
MERGE_MAX_SECONDS after the burst's first one) and no other turn of the conversation is in
flight, claims every waiting message and runs one turn with them; their rows are deleted once
the turn is stored. A message arriving after the claim starts the next burst.
"""

import asyncio
import logging
import time
import uuid

from graph.turn import TurnEvents
from server.errors import STORAGE_DOWN, ApiError
from server.observability.request_ids import current_request_id
from server.schemas import ChatRequest, ChatResponse, MergedResponse
from server.security.ratelimit import SESSION_LIMITED, limited_headers
from server.services import Services
from server.storage.backend import STORAGE_ERRORS
from server.storage.burst_buffer import BurstBuffer
from server.turn.secrets import masked_in_logs
from server.turn.session_ids import session_ref
from server.turn.turns import check_request, run_turn, turn_conversation

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
"""How often a waiting request reads its burst (a merged answer comes within this)."""

Answer = ChatResponse | MergedResponse
NOT_RUN = (409, 503)
"""Statuses of a turn that did not run: the session stayed busy, or storage was down."""


def burst_conversation(request: ChatRequest, services: Services) -> str:
    """The conversation a request's message belongs to, as the burst buffer keys it: the same
    (company, session id) key as its checkpoints and lock."""
    return turn_conversation(request, services)


async def answer_message(
    request: ChatRequest,
    services: Services,
    events: TurnEvents | None = None,
    timeout: float | None = None,
) -> Answer:
    """Answer one customer message as DOUBLE_TEXTING says (`timeout`: the turn's deadline, as
    run_turn takes it; asynchronous turns pass ASYNC_TURN_TIMEOUT)."""
    mode = services.settings.DOUBLE_TEXTING
    if mode == "merge" and services.bursts is not None:
        with masked_in_logs(request.company_key):
            try:
                return await _merge(request, services, services.bursts, events, timeout)
            except STORAGE_ERRORS as exc:  # the buffer's database (the turn maps its own)
                log.warning("burst buffer unavailable", extra={"error": type(exc).__name__})
                raise ApiError(503, STORAGE_DOWN) from None
    return await run_turn(request, services, events, timeout, reject_busy=mode == "reject")


async def _merge(
    request: ChatRequest,
    services: Services,
    buffer: BurstBuffer,
    events: TurnEvents | None,
    timeout: float | None,
) -> Answer:
    settings = services.settings
    check_request(request, services)  # refused before its text joins a burst
    conversation = burst_conversation(request, services)
    request_id = current_request_id.get() or uuid.uuid4().hex
    started = time.perf_counter()
    seq, joined = await buffer.add(conversation, request_id, request.message)
    arrived = time.monotonic()
    if not joined:  # a burst's first message: the burst counts as one turn for the limit
        wait = await services.security.limiter.hit("session", session_ref(request.session_key))
        if wait is not None:
            await buffer.drop(seq)
            raise ApiError(429, SESSION_LIMITED.format(seconds=wait), limited_headers(wait))
    stale_after = settings.SESSION_LOCK_TIMEOUT + settings.TURN_TIMEOUT
    while True:
        state = await buffer.state(seq)
        if state is None:  # deleted under us (never by design): answer it rather than lose it
            log.warning("burst row gone; answering the message on its own")
            return await run_turn(request, services, events, timeout)
        if state.merged_into is not None:
            return _merged(request, services, state.merged_into, started)
        window_over = time.monotonic() - arrived >= settings.MERGE_WINDOW_SECONDS
        if window_over or state.first_age >= settings.MERGE_MAX_SECONDS:
            claim = await buffer.claim(conversation, seq, request_id, stale_after)
            if claim.merged_into is not None:
                return _merged(request, services, claim.merged_into, started)
            if claim.messages is not None:
                return await _run_burst(
                    request, services, buffer, claim.messages, events, request_id, seq, timeout
                )
        await asyncio.sleep(POLL_SECONDS)


async def _run_burst(
    request: ChatRequest,
    services: Services,
    buffer: BurstBuffer,
    messages: list[str],
    events: TurnEvents | None,
    turn_id: str,
    own_seq: int,
    timeout: float | None,
) -> ChatResponse:
    """One turn for the claimed burst; its rows are deleted once it is stored (or has failed).

    A turn that never ran (the session stayed busy: 409; storage down: 503) gives the merged
    messages back to the buffer for the conversation's next turn (their requests were answered
    `merged`: they are owed a turn); its own request got the status, so its message is dropped."""
    services.metrics.bursts.burst(len(messages))
    try:
        response = await run_turn(request, services, events, timeout, messages=messages)
    except ApiError as exc:
        if exc.status_code in NOT_RUN:
            await asyncio.shield(buffer.requeue(turn_id, own_seq))
        else:
            await asyncio.shield(buffer.release(turn_id))
        raise
    except BaseException:
        await asyncio.shield(buffer.release(turn_id))
        raise
    await asyncio.shield(buffer.release(turn_id))
    return response


def _merged(
    request: ChatRequest, services: Services, merged_into: str, started: float
) -> MergedResponse:
    # counted apart from the turns: requests_total stays delegate + respond + errors
    services.metrics.bursts.message_merged()
    log.info(
        "message merged into a later message's turn",
        extra={
            "session": session_ref(request.session_key),
            "merged_into": merged_into,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return MergedResponse(session_id=request.session_id, merged_into=merged_into)
