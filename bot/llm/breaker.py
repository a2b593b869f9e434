"""A circuit breaker on the injected clock: stop calling a failing provider for a while, then try once.

closed → (N consecutive failures) → open → (reset_s later) → half-open: one trial call;
its success closes the circuit, its failure opens it again for another reset_s.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import structlog

from bot.clock import Clock

log = structlog.get_logger(__name__)
BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(self, failures: int, reset_s: float, clock: Clock, *, name: str = "llm") -> None:
        self._threshold = failures
        self._reset = timedelta(seconds=reset_s)
        self._clock = clock
        self._name = name
        self._failures = 0
        self._opened_at: datetime | None = None
        # When the half-open trial was let through. A trial whose outcome never comes back (the caller
        # was cancelled) must not wedge the breaker: after another reset_s a new trial is allowed.
        self._trial_at: datetime | None = None

    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock.now() - self._opened_at >= self._reset:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go ahead now; in half-open state only one caller gets True."""
        state = self.state()
        if state == "closed":
            return True
        if state == "open":
            return False
        now = self._clock.now()
        if self._trial_at is not None and now - self._trial_at < self._reset:
            return False
        self._trial_at = now
        log.info("circuit half-open: trial call", breaker=self._name)
        return True

    def record_success(self) -> None:
        if self._opened_at is not None:
            log.info("circuit closed", breaker=self._name)
        self._failures = 0
        self._opened_at = None
        self._trial_at = None

    def record_failure(self) -> None:
        now = self._clock.now()
        if self._trial_at is not None:  # the trial failed: open again for a full period
            self._opened_at, self._trial_at = now, None
            log.warning("circuit re-opened: trial call failed", breaker=self._name, reset_s=self._reset.total_seconds())
            return
        self._failures += 1
        if self._opened_at is None and self._failures >= self._threshold:
            self._opened_at = now
            log.warning(
                "circuit opened",
                breaker=self._name,
                failures=self._failures,
                reset_s=self._reset.total_seconds(),
            )
