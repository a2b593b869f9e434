"""Worker dependencies for the in-process job tests: a migrated database of each kind, a real Redis, the
shipped rules, an injected clock. One builder instead of a copy per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.alerts.service import AlertService
from bot.clock import FrozenClock
from bot.commands.service import Commands
from bot.db import open_db
from bot.queue import arq_redis
from bot.reference import load_directory, sync_reference_data
from bot.tasks.service import TaskService
from bot.understanding.store import RuleStore
from handlers.pipeline import Services
from handlers.steps import FULL_STEPS
from jobs.processing import WorkerDeps
from tests.conftest import build_settings


@asynccontextmanager
async def worker_deps(
    db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock, *, services: bool = False
) -> AsyncIterator[WorkerDeps]:
    """Bare deps (the default steps, no services), or with `services`: the full pipeline with the alert
    and task services, as the worker runs it (no LLM, no alert delivery)."""
    settings = build_settings(db_url, redis_url, tmp_path)
    async with open_db(db_url):
        directory, people = load_directory(settings)
        await sync_reference_data(settings, people)
        redis = arq_redis(redis_url)
        try:
            if not services:
                yield WorkerDeps(settings, directory, redis, clock)
                return
            rules = RuleStore(Path(settings.rules_dir))
            commands = Commands(settings, redis, clock)
            alerts = AlertService(settings, directory, lambda: rules.current.alerts, redis, clock)
            tasks = TaskService(
                settings, directory, lambda: rules.current.assignment, redis, clock, commands=commands, alerts=alerts
            )
            full = Services(settings, rules, commands, None, alerts, tasks)
            yield WorkerDeps(settings, directory, redis, clock, FULL_STEPS, services=full)
        finally:
            await redis.aclose()
