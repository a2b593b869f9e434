"""Can the hub do its job right now? Worker heartbeats in Redis, and the verdict `/readyz` gives.

Each worker records itself in one sorted set (member: host:pid, score: when it last beat) from its poll
loop, so a heartbeat means the loop runs and reaches Redis. `/readyz` reads that set and the pending
backlog and says "not ready" with every reason that applies; `/healthz` stays the liveness probe.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from redis.asyncio import Redis

from bot.settings import ReadinessSettings

HEARTBEAT_KEY: Final = "hub:workers:heartbeat"
FORGET_AFTER_S: Final = 86_400.0  # members older than this are dropped (a worker that died without saying so)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def beat(redis: Redis, worker: str, at: datetime) -> None:
    """Record that `worker` was alive at `at` (one round trip)."""
    now_s = at.timestamp()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(HEARTBEAT_KEY, {worker: now_s})
        pipe.zremrangebyscore(HEARTBEAT_KEY, "-inf", now_s - FORGET_AFTER_S)
        pipe.expire(HEARTBEAT_KEY, int(FORGET_AFTER_S))
        await pipe.execute()


async def forget(redis: Redis, worker: str) -> None:
    """A worker stopping cleanly says so (a killed one simply stops beating)."""
    await redis.zrem(HEARTBEAT_KEY, worker)


async def heartbeats(redis: Redis) -> dict[str, float]:
    """Every known worker and the unix time of its last heartbeat."""
    rows: list[tuple[bytes | str, float]] = await redis.zrange(HEARTBEAT_KEY, 0, -1, withscores=True)
    return {(m.decode() if isinstance(m, bytes) else m): float(score) for m, score in rows}


@dataclass(frozen=True)
class Probes:
    """What the probes found; None where a probe could not run (its dependency is down)."""

    database_ok: bool
    redis_ok: bool
    heartbeats: dict[str, float] | None  # worker -> unix time of its last heartbeat
    pending_messages: int | None
    oldest_pending_at: datetime | None  # None: nothing pending (or unknown: see pending_messages)


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reasons: tuple[str, ...]
    data: dict[str, Any]


def judge(probes: Probes, now: datetime, limits: ReadinessSettings) -> Readiness:
    """Ready unless the database or Redis is down, no worker beat within `worker_stale_s`, or the oldest
    pending message waited longer than `max_backlog_age_s`."""
    reasons: list[str] = []
    if not probes.database_ok:
        reasons.append("database down: callbacks cannot be stored")
    if not probes.redis_ok:
        reasons.append("redis down: the worker gets no jobs")
    workers: list[dict[str, Any]] | None = None
    if probes.heartbeats is not None:
        now_s = now.timestamp()
        ages = {worker: max(now_s - at, 0.0) for worker, at in probes.heartbeats.items()}
        workers = [
            {"id": worker, "last_heartbeat_s": round(age, 1)}
            for worker, age in sorted(ages.items(), key=lambda item: item[1])
            if age <= limits.worker_stale_s
        ]
        if not workers:
            reasons.append(f"no worker heartbeat within {limits.worker_stale_s:g} s")
    backlog_age: float | None = None
    if probes.oldest_pending_at is not None:
        backlog_age = max((now - probes.oldest_pending_at).total_seconds(), 0.0)
        if backlog_age > limits.max_backlog_age_s:
            reasons.append(f"oldest pending message waited {backlog_age:.0f} s (limit {limits.max_backlog_age_s:g} s)")
    data: dict[str, Any] = {
        "database": "ok" if probes.database_ok else "down",
        "redis": "ok" if probes.redis_ok else "down",
        "workers": workers,
        "pending_messages": probes.pending_messages,
        "oldest_pending_age_s": None if backlog_age is None else round(backlog_age, 1),
        "reasons": reasons,
    }
    return Readiness(not reasons, tuple(reasons), data)
