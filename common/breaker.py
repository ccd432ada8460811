"""A circuit breaker (closed, open, half_open) for any dependency: agents, Redis."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class CircuitOpenError(RuntimeError):
    """The circuit is open: the call was not attempted."""


@dataclass
class CircuitBreaker:
    """Opens after `threshold` failures in a row; lets one probe through after `reset_timeout`."""

    threshold: int
    reset_timeout: float
    clock: Callable[[], float] = time.monotonic
    failure_count: int = 0
    _opened_at: float | None = None
    _probe_in_flight: bool = False

    @property
    def state(self) -> BreakerState:
        """The current state, moving open → half_open once the reset timeout has passed."""
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.reset_timeout:
            return "half_open"
        return "open"

    def before_call(self) -> None:
        """Raise CircuitOpenError unless a call may go through now."""
        state = self.state
        if state == "open" or (state == "half_open" and self._probe_in_flight):
            raise CircuitOpenError("circuit open")
        if state == "half_open":
            self._probe_in_flight = True

    def record_success(self) -> None:
        """A call succeeded: close the circuit."""
        self.failure_count = 0
        self._opened_at = None
        self._probe_in_flight = False

    def record_failure(self) -> None:
        """A call failed: count it and open the circuit at the threshold (or on a failed probe)."""
        self.failure_count += 1
        probe_failed = self._probe_in_flight
        self._probe_in_flight = False
        if probe_failed or self.failure_count >= self.threshold:
            self._opened_at = self.clock()

    def snapshot(self) -> dict[str, object]:
        """The shape `/metrics` shows: state and consecutive failures."""
        return {"state": self.state, "failure_count": self.failure_count}

    def abort_probe(self) -> None:
        """A probe was cancelled before it finished: let the next call probe instead."""
        self._probe_in_flight = False
