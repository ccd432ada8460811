"""Around every agent call: the turn's deadline, a per-call timeout, safe retries, breaker, cap."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)

from common.breaker import CircuitBreaker
from graph.agents.company_slots import Company, CompanySlots
from graph.agents.transport import AgentError, AgentFailed

T = TypeVar("T")
DEADLINE_SLACK = 0.05
"""Seconds before the deadline within which a timed-out call counts as cut by the deadline
(the call's own timer and the deadline are read from the clock a moment apart)."""
log = logging.getLogger(__name__)


class DeadlineExceeded(AgentError):
    """The turn's deadline passed before or during the call."""

    def __init__(self) -> None:
        super().__init__("deadline")


@dataclass(frozen=True)
class ResiliencePolicy:
    """Per-call limits shared by every agent."""

    timeout: float = 30.0
    max_attempts: int = 3
    backoff: float = 0.2
    breaker_threshold: int = 5
    breaker_reset: float = 60.0
    max_concurrency: int = 25
    retry_on: frozenset[str] = frozenset()
    """Failures retried although the agent may have acted (AGENT_<KEY>_RETRY_ON)."""
    max_per_company: int | None = None  # of max_concurrency while another company waits


def _safe_to_retry(idempotent: bool, retry_on: frozenset[str]) -> Callable[[BaseException], bool]:
    """Retry only what surely did not reach the agent, what the deployment's RETRY_ON names, or
    anything transient when idempotent."""

    def check(exc: BaseException) -> bool:
        if isinstance(exc, DeadlineExceeded):
            return False
        if isinstance(exc, AgentError) and (exc.retryable or exc.retry_key in retry_on):
            return True
        return idempotent and isinstance(exc, AgentFailed)

    return check


def _log_retry(name: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "agent call retried",
            extra={
                "agent": name,
                "attempt": state.attempt_number,
                "error": exc.reason if isinstance(exc, AgentError) else type(exc).__name__,
            },
        )

    return before_sleep


class AgentGuard:
    """One agent's breaker and concurrency cap, and the retry rule of its calls."""

    def __init__(self, policy: ResiliencePolicy, name: str = "") -> None:
        self.name = name
        self.policy = policy
        self.breaker = CircuitBreaker(policy.breaker_threshold, policy.breaker_reset)
        self._slots = CompanySlots(policy.max_concurrency, policy.max_per_company)

    @property
    def slots(self) -> CompanySlots:
        """The agent's concurrency slots (read them; only `run` takes and gives them back)."""
        return self._slots

    async def run(
        self,
        attempt: Callable[[float], Awaitable[T]],
        *,
        deadline: float | None,
        idempotent: bool = False,
        company: Company = None,
    ) -> T:
        """Call `attempt(timeout)` behind the breaker; raises the last AgentError on failure.

        Every attempt's timeout, every wait for a slot and every backoff end by `deadline`
        (a `time.monotonic()` value); a call that would start after it is not made.
        """
        end = deadline if deadline is not None else time.monotonic() + 10 * self.policy.timeout
        self.breaker.before_call()
        try:
            result = await self._attempts(attempt, end, idempotent, company)
        except asyncio.CancelledError:
            self.breaker.abort_probe()  # not the agent's fault: the breaker does not count it
            raise
        except DeadlineExceeded:
            self.breaker.abort_probe()
            raise
        except AgentError:
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return result

    async def _attempts(
        self,
        attempt: Callable[[float], Awaitable[T]],
        end: float,
        idempotent: bool,
        company: Company,
    ) -> T:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_attempts)
            | stop_before_delay(max(0.0, end - time.monotonic())),
            wait=wait_exponential(multiplier=self.policy.backoff, max=5),
            retry=retry_if_exception(_safe_to_retry(idempotent, self.policy.retry_on)),
            before_sleep=_log_retry(self.name),
            reraise=True,
        )
        async for state in retrying:
            with state:
                return await self._one(attempt, end, company)
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    async def _one(
        self, attempt: Callable[[float], Awaitable[T]], end: float, company: Company
    ) -> T:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded()
        try:
            async with asyncio.timeout(remaining):
                await self._slots.acquire(company)  # further calls wait their turn, never fail
        except TimeoutError:
            raise DeadlineExceeded() from None
        try:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded()
            budget = min(self.policy.timeout, remaining)
            try:
                return await attempt(budget)
            except AgentError as exc:
                # the call was cut by the turn's deadline, not by the agent's own timeout
                cut = exc.reason == "timeout" and budget < self.policy.timeout
                if cut and time.monotonic() >= end - DEADLINE_SLACK:
                    raise DeadlineExceeded() from None
                raise
        finally:
            self._slots.release(company)


__all__ = ["AgentGuard", "DeadlineExceeded", "ResiliencePolicy"]
