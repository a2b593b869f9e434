"""`GET /metrics`: the counters of every process (bot/metrics.py) and gauges read from the database and Redis.

The gauges are read here, at scrape time, by whichever server process answers: every server process
then gives the same picture, and no gauge is left behind in the metric files by a process that died.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from aiohttp import web
from arq.connections import ArqRedis
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from tortoise.functions import Count

from bot.api.auth import requires
from bot.keys import CLOCK, REDIS, SETTINGS
from bot.metrics import multiproc_dir
from bot.queue import pending_backlog
from bot.readiness import Probes, heartbeats, judge
from models.alerts import Alert, AlertStatus
from models.robots import Robot
from models.tasks import AfterSalesTask

QUERY_TIMEOUT_S: Final = 2.0


@dataclass
class Snapshot:
    """What the database and Redis said at this scrape; None where they did not answer."""

    families: list[Metric] = field(default_factory=list)
    oldest_pending_at: datetime | None = None

    def gauge(self, name: str, doc: str, value: float | None, labels: dict[str, str] | None = None) -> None:
        self.gauges(name, doc, [] if value is None else [(labels or {}, value)])

    def gauges(self, name: str, doc: str, samples: Iterable[tuple[dict[str, str], float]]) -> None:
        rows = list(samples)
        names = sorted(rows[0][0]) if rows else []
        family = GaugeMetricFamily(name, doc, labels=names)
        for labels, value in rows:
            family.add_metric([labels[n] for n in names], value)
        self.families.append(family)


class _Static:
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


async def _grouped(query: Any, *keys: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await asyncio.wait_for(
        query.annotate(n=Count("id")).group_by(*keys).values(*keys, "n"), timeout=QUERY_TIMEOUT_S
    )
    return rows


async def _database(snapshot: Snapshot, now_s: float) -> bool:
    try:
        backlog = await asyncio.wait_for(pending_backlog(), timeout=QUERY_TIMEOUT_S)
        alerts = await _grouped(Alert.filter(status=AlertStatus.OPEN), "level", "kind")
        tasks = await _grouped(AfterSalesTask.all(), "status")
        robots = await asyncio.wait_for(Robot.all().values_list("id", "online"), timeout=QUERY_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - a scrape never fails: hub_up{dependency="database"} says it is down
        return False
    snapshot.oldest_pending_at = backlog.oldest_at
    oldest = None if backlog.oldest_at is None else max(now_s - backlog.oldest_at.timestamp(), 0.0)
    snapshot.gauge("hub_pending_messages", "Messages waiting for the worker", backlog.pending)
    snapshot.gauge("hub_pending_oldest_age_seconds", "Age of the oldest pending message (0: none)", oldest or 0.0)
    snapshot.gauges(
        "hub_alerts_open",
        "Open alerts by level and kind",
        [({"level": str(r["level"]), "kind": str(r["kind"])}, r["n"]) for r in alerts],
    )
    snapshot.gauges("hub_tasks", "After-sales tasks by status", [({"status": str(r["status"])}, r["n"]) for r in tasks])
    snapshot.gauges(
        "hub_robot_online",
        "1 online, 0 offline, as last reported (robots never reported are left out)",
        [({"robot": str(robot_id)}, 1.0 if online else 0.0) for robot_id, online in robots if online is not None],
    )
    return True


async def _redis(redis: ArqRedis) -> dict[str, float] | None:
    try:
        return await asyncio.wait_for(heartbeats(redis), timeout=QUERY_TIMEOUT_S)
    except Exception:  # noqa: BLE001 - reported as hub_up{dependency="redis"} 0
        return None


async def snapshot(app: web.Application) -> Snapshot:
    settings, now = app[SETTINGS], app[CLOCK].now()
    snap = Snapshot()
    database_ok, beats = await asyncio.gather(_database(snap, now.timestamp()), _redis(app[REDIS]))
    stale_s = settings.readiness.worker_stale_s
    up = [({"dependency": "database"}, float(database_ok)), ({"dependency": "redis"}, float(beats is not None))]
    snap.gauges("hub_up", "1 if the dependency answered this scrape", up)
    if beats is not None:
        ages = [max(now.timestamp() - at, 0.0) for at in beats.values()]
        snap.gauge("hub_workers_alive", "Workers whose heartbeat is within readiness.worker_stale_s",
                   sum(age <= stale_s for age in ages))  # fmt: skip
        snap.gauge("hub_worker_heartbeat_age_seconds", "Age of the freshest worker heartbeat", min(ages, default=None))
    probes = Probes(
        database_ok=database_ok,
        redis_ok=beats is not None,
        heartbeats=beats,
        pending_messages=None,
        oldest_pending_at=snap.oldest_pending_at,
    )
    ready = judge(probes, now, settings.readiness).ready
    snap.gauge("hub_ready", "1 if /readyz would answer 200 (database, Redis, a worker heartbeat, backlog age)",
               float(ready))  # fmt: skip
    return snap


def render(families: list[Metric], directory: str | None) -> bytes:
    """The exposition: every process's files when in multiprocess mode, else this process's registry."""
    if directory is None:
        registry = CollectorRegistry()
        registry.register(_Static(families))
        return generate_latest(REGISTRY) + generate_latest(registry)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    registry.register(_Static(families))
    return generate_latest(registry)


async def metrics(request: web.Request) -> web.Response:
    snap = await snapshot(request.app)
    body = await asyncio.to_thread(render, snap.families, multiproc_dir())  # reads one file per process
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_metrics(app: web.Application) -> None:
    """`GET /metrics`, behind a bearer token of any role unless metrics.protected is false."""
    settings = app[SETTINGS].metrics
    if not settings.enabled:
        return
    handler = requires("staff")(metrics) if settings.protected else metrics
    app.router.add_get("/metrics", handler)
