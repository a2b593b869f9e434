"""A robot's health score, status and recommendations from what was observed of it lately. Pure.

`score(observations, rules)` applies `rules/health.yaml` (bot/rules/health.py says how the components
combine); the caller gathers the observations (bot/robots/monitor.py) and passes `now` in through them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.rules.health import HealthExample, HealthFile, HealthStatus, Ramp

COMPONENTS = ("online", "flaps", "success", "unknown", "latency_avg", "latency_p90", "silence", "budget")


@dataclass(frozen=True)
class Observations:
    """One robot within the rules' window (counts are of commands finished in the window)."""

    online: bool | None
    offline_s: float = 0.0  # how long it has been offline, when it is
    flaps: int = 0  # times it went offline
    succeeded: int = 0
    failed: int = 0
    unknown: int = 0  # no result within the timeout
    time_costs: tuple[float, ...] = ()  # WorkTool's timeCost of the results, seconds
    callbacks: int = 0  # messages it reported
    usual_callbacks: float | None = None  # the mean for the same hours of previous days; None: no history
    rate_limit_hits: int | None = None  # None: not recorded per robot


@dataclass(frozen=True)
class Component:
    name: str
    score: int  # 0-100: how well this part does
    weight: float  # the points it can cost
    lost: float  # the points it costs now
    neutral: bool  # too little data: costs nothing
    facts: dict[str, float | int | bool | None] = field(default_factory=dict)
    advice: str | None = None


@dataclass(frozen=True)
class Health:
    score: int
    status: HealthStatus
    components: tuple[Component, ...]
    recommendations: tuple[str, ...]


def window_text(minutes: float) -> str:
    """近{window}: 1小时, 2小时, 30分钟."""
    if minutes >= 60 and minutes % 60 == 0:
        return f"{int(minutes // 60)}小时"
    return f"{minutes:g}分钟"


def p90(values: Sequence[float]) -> float:
    """The nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def count_flaps(states: Iterable[bool | None], before: bool | None) -> int:
    """Times the state went to offline, given the reported states in order and the one before them."""
    flaps, last = 0, before
    for state in states:
        if state is False and last is not False:
            flaps += 1
        if state is not None:
            last = state
    return flaps


def _component(
    name: str, weight: float, marks: float | None, facts: dict[str, float | int | bool | None], advice: str | None
) -> Component:
    if marks is None:
        return Component(name, 100, weight, 0.0, True, facts)
    lost = weight * (1 - marks)
    return Component(name, round(100 * marks), weight, lost, False, facts, advice if marks < 1 else None)


def _ramp(ramp: Ramp, value: float | None) -> float | None:
    return None if value is None else ramp.marks(value)


def score(obs: Observations, rules: HealthFile) -> Health:
    window = window_text(rules.window_minutes)
    parts: list[Component] = []

    online = rules.online
    marks = 1.0 if obs.online else 0.0 if obs.online is False else online.unknown_marks
    offline_minutes = round(obs.offline_s / 60)
    advice = online.advice if obs.online is False else online.advice_unknown
    facts: dict[str, float | int | bool | None] = {"online": obs.online, "offline_minutes": offline_minutes}
    parts.append(
        _component("online", online.weight, marks, facts, advice.format(window=window, offline_minutes=offline_minutes))
    )

    flaps = rules.flaps
    text = flaps.advice.format(window=window, flaps=obs.flaps)
    parts.append(_component("flaps", flaps.weight, flaps.ramp.marks(obs.flaps), {"flaps": obs.flaps}, text))

    answered = obs.succeeded + obs.failed
    success_rate = obs.succeeded / answered if answered else None
    success_pct = round(100 * success_rate) if success_rate is not None else None
    rule = rules.success
    marks_or_none = _ramp(rule.ramp, success_rate) if answered >= rule.min_commands else None
    text = rule.advice.format(window=window, success_pct=success_pct, failed=obs.failed, succeeded=obs.succeeded)
    facts = {"succeeded": obs.succeeded, "failed": obs.failed, "rate": success_rate}
    parts.append(_component("success", rule.weight, marks_or_none, facts, text))

    finished = answered + obs.unknown
    unknown_rate = obs.unknown / finished if finished else None
    silent = rules.unknown
    marks_or_none = _ramp(silent.ramp, unknown_rate) if finished >= silent.min_commands else None
    text = silent.advice.format(window=window, unknown=obs.unknown, finished=finished)
    facts = {"unknown": obs.unknown, "finished": finished, "rate": unknown_rate}
    parts.append(_component("unknown", silent.weight, marks_or_none, facts, text))

    costs = obs.time_costs
    avg = sum(costs) / len(costs) if costs else None
    tail = p90(costs) if costs else None
    for name, latency, value in (("latency_avg", rules.latency_avg, avg), ("latency_p90", rules.latency_p90, tail)):
        enough = value is not None and len(costs) >= latency.min_commands
        shown = round(value, 1) if value is not None else None
        text = latency.advice.format(window=window, avg_s=shown, p90_s=shown)
        facts = {"seconds": shown, "results": len(costs)}
        parts.append(_component(name, latency.weight, _ramp(latency.ramp, value) if enough else None, facts, text))

    quiet = rules.silence
    usual = obs.usual_callbacks
    ratio = obs.callbacks / usual if usual is not None and usual >= quiet.min_usual else None
    usual_shown = round(usual, 1) if usual is not None else None
    text = quiet.advice.format(window=window, callbacks=obs.callbacks, usual=usual_shown)
    facts = {"callbacks": obs.callbacks, "usual": usual_shown}
    parts.append(_component("silence", quiet.weight, _ramp(quiet.ramp, ratio), facts, text))

    budget = rules.budget
    hits = obs.rate_limit_hits
    text = budget.advice.format(window=window, hits=hits)
    parts.append(_component("budget", budget.weight, _ramp(budget.ramp, hits), {"hits": hits}, text))

    total = max(0, min(100, round(100 - sum(p.lost for p in parts))))
    worst_first = sorted((p for p in parts if p.advice), key=lambda p: -p.lost)
    return Health(total, rules.bands.status(total), tuple(parts), tuple(str(p.advice) for p in worst_first))


def example_observations(example: HealthExample) -> Observations:
    return Observations(
        online=example.online,
        offline_s=example.offline_minutes * 60,
        flaps=example.flaps,
        succeeded=example.succeeded,
        failed=example.failed,
        unknown=example.unknown,
        time_costs=example.time_costs,
        callbacks=example.callbacks,
        usual_callbacks=example.usual,
        rate_limit_hits=example.rate_limit_hits,
    )


def self_test(rules: HealthFile) -> list[tuple[int, str]]:
    """The examples that fail: (index, what went wrong)."""
    failures = []
    for n, example in enumerate(rules.examples):
        got = score(example_observations(example), rules)
        if got.status != example.expect or (example.expect_score is not None and got.score != example.expect_score):
            want = example.expect + (f" {example.expect_score}" if example.expect_score is not None else "")
            failures.append((n, f"«{example.name}» scores {got.score} ({got.status}), not {want}"))
    return failures
