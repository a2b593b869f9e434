"""Worker dependencies for the in-process job tests: a migrated database of each kind, a real Redis, the
shipped rules, an injected clock; the services from the runtime the worker builds (bot/runtime.py). One
builder instead of a copy per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.clock import FrozenClock
from bot.db import open_db
from bot.reference import load_directory, sync_reference_data
from bot.runtime import build_runtime
from handlers.steps import FULL_STEPS
from jobs.processing import WorkerDeps
from jobs.worker import worker_deps as runtime_deps
from tests.conftest import build_settings


@asynccontextmanager
async def worker_deps(
    db_url: str,
    redis_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    *,
    services: bool = False,
    alerts: bool = True,
) -> AsyncIterator[WorkerDeps]:
    """The worker's deps with only the sender-role step (processing tests), or with `services`: the full
    pipeline, as the worker runs it (the LLM off). `alerts` False: as with `alerts.enabled: false`."""
    settings = build_settings(db_url, redis_url, tmp_path)
    if not alerts:
        settings = settings.model_copy(update={"alerts": settings.alerts.model_copy(update={"enabled": False})})
    async with open_db(db_url):
        _, people = load_directory(settings)
        await sync_reference_data(settings, people)
        async with build_runtime(settings, clock, watch_rules=False) as rt:
            # Bare: no services at all (a failing step's logged traceback stays small enough to render).
            yield runtime_deps(rt, FULL_STEPS) if services else WorkerDeps(settings, rt.directory, rt.redis, clock)
