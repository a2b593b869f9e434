"""The circuit breaker on a frozen clock: no sleeps."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FrozenClock
from bot.llm.breaker import CircuitBreaker


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure()


def test_opens_after_consecutive_failures_only(clock: FrozenClock) -> None:
    breaker = CircuitBreaker(3, 60, clock)
    fail(breaker, 2)
    breaker.record_success()  # the streak is broken
    fail(breaker, 2)
    assert breaker.state() == "closed"
    fail(breaker, 1)
    assert breaker.state() == "open"
    assert not breaker.allow()


def test_half_open_lets_one_trial_through_and_its_success_closes(clock: FrozenClock) -> None:
    breaker = CircuitBreaker(2, 60, clock)
    fail(breaker, 2)
    clock.advance(timedelta(seconds=59))
    assert not breaker.allow()
    clock.advance(timedelta(seconds=1))
    assert breaker.state() == "half_open"
    assert breaker.allow()
    assert not breaker.allow()  # only one trial at a time
    breaker.record_success()
    assert breaker.state() == "closed"
    assert breaker.allow()
    assert breaker.allow()


def test_a_failed_trial_opens_again_for_a_full_period(clock: FrozenClock) -> None:
    breaker = CircuitBreaker(2, 60, clock)
    fail(breaker, 2)
    clock.advance(timedelta(seconds=60))
    assert breaker.allow()
    breaker.record_failure()  # one failure is enough in half-open state
    assert breaker.state() == "open"
    clock.advance(timedelta(seconds=59))
    assert not breaker.allow()
    clock.advance(timedelta(seconds=1))
    assert breaker.allow()


def test_a_trial_that_never_reports_does_not_wedge_the_breaker(clock: FrozenClock) -> None:
    breaker = CircuitBreaker(1, 60, clock)
    fail(breaker, 1)
    clock.advance(timedelta(seconds=60))
    assert breaker.allow()  # this caller is cancelled and never records an outcome
    clock.advance(timedelta(seconds=30))
    assert not breaker.allow()
    clock.advance(timedelta(seconds=30))
    assert breaker.allow()
