"""The readiness verdict (pure) and the worker heartbeat it reads (real Redis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from bot.readiness import HEARTBEAT_KEY, Probes, beat, forget, heartbeats, judge
from bot.settings import ReadinessSettings

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LIMITS = ReadinessSettings(worker_heartbeat_s=5, worker_stale_s=20, max_backlog_age_s=120)


def probes(**changes: object) -> Probes:
    base: dict[str, object] = {
        "database_ok": True,
        "redis_ok": True,
        "heartbeats": {"box:1": NOW.timestamp() - 3},
        "pending_messages": 4,
        "oldest_pending_at": NOW - timedelta(seconds=10),
    }
    base.update(changes)
    return Probes(**base)  # type: ignore[arg-type]


def test_ready_when_everything_answers_reports_what_it_saw() -> None:
    verdict = judge(probes(), NOW, LIMITS)
    assert verdict.ready
    assert verdict.reasons == ()
    assert verdict.data == {
        "database": "ok",
        "redis": "ok",
        "workers": [{"id": "box:1", "last_heartbeat_s": 3.0}],
        "pending_messages": 4,
        "oldest_pending_age_s": 10.0,
        "reasons": [],
    }


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"database_ok": False, "pending_messages": None, "oldest_pending_at": None}, "database down"),
        ({"redis_ok": False, "heartbeats": None}, "redis down"),
        ({"heartbeats": {}}, "no worker heartbeat within 20 s"),
        ({"heartbeats": {"box:1": NOW.timestamp() - 21}}, "no worker heartbeat within 20 s"),
        ({"oldest_pending_at": NOW - timedelta(seconds=121)}, "oldest pending message waited 121 s (limit 120 s)"),
    ],
)
def test_each_failed_condition_is_a_reason(changes: dict[str, object], reason: str) -> None:
    verdict = judge(probes(**changes), NOW, LIMITS)
    assert not verdict.ready
    assert len(verdict.reasons) == 1
    assert verdict.reasons[0].startswith(reason)


def test_limits_are_inclusive_and_stale_workers_are_not_listed() -> None:
    beats = {"old:1": NOW.timestamp() - 60, "new:2": NOW.timestamp() - 20}
    verdict = judge(probes(heartbeats=beats, oldest_pending_at=NOW - timedelta(seconds=120)), NOW, LIMITS)
    assert verdict.ready
    assert verdict.data["workers"] == [{"id": "new:2", "last_heartbeat_s": 20.0}]


def test_every_reason_is_given_at_once() -> None:
    verdict = judge(
        probes(database_ok=False, redis_ok=False, heartbeats=None, pending_messages=None, oldest_pending_at=None),
        NOW,
        LIMITS,
    )
    assert [r.split(":")[0] for r in verdict.reasons] == ["database down", "redis down"]
    assert verdict.data["workers"] is None
    assert verdict.data["pending_messages"] is None


def test_a_stale_limit_shorter_than_a_heartbeat_is_refused() -> None:
    with pytest.raises(ValidationError, match="longer than worker_heartbeat_s"):
        ReadinessSettings(worker_heartbeat_s=10, worker_stale_s=5)


async def test_heartbeats_are_recorded_per_worker_and_forgotten(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        await beat(redis, "box:1", NOW - timedelta(seconds=5))
        await beat(redis, "box:2", NOW)
        await beat(redis, "box:1", NOW)  # a later beat replaces the earlier one
        assert await heartbeats(redis) == {"box:1": NOW.timestamp(), "box:2": NOW.timestamp()}
        await forget(redis, "box:1")
        assert await heartbeats(redis) == {"box:2": NOW.timestamp()}
        await beat(redis, "box:3", NOW + timedelta(days=2))  # prunes members silent for a day
        assert await heartbeats(redis) == {"box:3": (NOW + timedelta(days=2)).timestamp()}
        assert 0 < await redis.ttl(HEARTBEAT_KEY) <= 86_400
    finally:
        await redis.aclose()
