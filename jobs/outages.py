"""Keeping the worker up through Redis and database outages.

arq's main loop raises on the first Redis error, and that used to end the worker (processing stopped
until someone restarted it). Here the loop is run again once Redis answers, after a back-off that logs
one line per step; the sweepers then run at once, since a restarted Redis has lost its queue (the
database holds every pending message, so nothing is lost, and processing is a conditional update, so
nothing runs twice). A job that fails because the database is down is retried by arq with a back-off;
a sweeper that cannot reach it waits for its next run. No crash, no crash loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final
from urllib.parse import urlsplit

import structlog
from arq import Retry
from arq.connections import ArqRedis
from arq.cron import CronJob
from arq.worker import Function, Worker
from redis.exceptions import RedisError

from bot.clock import Clock
from bot.db import open_db
from bot.readiness import beat, forget, worker_id
from bot.unavailable import unavailability

log = structlog.get_logger(__name__)

REDIS_ERRORS: Final = (RedisError, OSError)  # OSError: refused, reset, timed out
STABLE_AFTER_S: Final = 30.0  # a main loop that ran this long starts the next back-off from the beginning
JOB_RETRY_MAX_S: Final = 30.0
Sleep = Callable[[float], Awaitable[None]]


def database_unreachable(exc: BaseException) -> bool:
    """The database is down or refuses connections, as opposed to a fault of the job or its data
    (bot/unavailable.py, the classification the API uses too)."""
    return unavailability(exc) == "down"


def database_down(exc: BaseException) -> bool:
    """Unreachable, or its write lock held elsewhere: either way the job can only wait."""
    return unavailability(exc) is not None


class Backoff:
    """Delays that double from `first_s` up to `max_s`."""

    def __init__(self, first_s: float = 0.5, max_s: float = 5.0) -> None:
        self._first_s = first_s
        self._max_s = max_s
        self._next_s = first_s

    def next_delay(self) -> float:
        delay = self._next_s
        self._next_s = min(delay * 2, self._max_s)
        return delay

    def reset(self) -> None:
        self._next_s = self._first_s


def _where(url: str) -> str:
    """host:port/db of a URL, without its credentials (for logs)."""
    if url.startswith("sqlite://"):
        return url
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}{parts.path}"


def retry_when_database_down(function: Function) -> Function:
    """The job, retried by arq after a back-off (2, 4, … 30 s, within its max_tries) when it failed
    because the database is unavailable; one warning line instead of a traceback per job."""
    inner = function.coroutine

    @functools.wraps(inner)
    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await inner(ctx, *args, **kwargs)
        except Exception as exc:
            if not database_down(exc):
                raise
            job_try = int(ctx.get("job_try") or 1)
            delay = min(2.0**job_try, JOB_RETRY_MAX_S)
            log.warning(
                "database unavailable; job retried later",
                job=function.name,
                job_try=job_try,
                retry_in_s=delay,
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
            raise Retry(defer=delay) from exc

    return dataclasses.replace(function, coroutine=run)


def skip_when_database_down(cron_job: CronJob) -> CronJob:
    """A sweeper that cannot reach the database waits for its next run (a few seconds away)."""
    inner = cron_job.coroutine

    @functools.wraps(inner)
    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await inner(ctx, *args, **kwargs)
        except Exception as exc:
            if not database_down(exc):
                raise
            log.warning(
                "database unavailable; sweep skipped until its next run",
                job=cron_job.name,
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
            return None

    return dataclasses.replace(cron_job, coroutine=run)


class HubWorker(Worker):
    """arq's worker, plus a heartbeat from its poll loop and what it needs to survive losing Redis."""

    def __init__(self, *args: Any, clock: Clock, heartbeat_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.worker_id = worker_id()
        self._clock = clock
        self._heartbeat_s = heartbeat_s
        self._last_beat = float("-inf")

    async def heart_beat(self) -> None:
        """Called by arq on every poll: so a heartbeat means the loop runs and reaches Redis."""
        await super().heart_beat()
        now = time.monotonic()
        if now - self._last_beat >= self._heartbeat_s:
            await beat(self.pool, self.worker_id, self._clock.now())
            self._last_beat = now

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except REDIS_ERRORS:
            # arq takes a job slot (counter and semaphore) before the Redis calls that failed and never
            # gives it back: each outage would leave the worker a slot short, until it took no jobs at all.
            self._release_sem_dec_counter_on_complete()
            raise

    def after_outage(self) -> None:
        """Before the main loop runs again: forget jobs that ended while Redis was gone (arq would raise
        their Redis errors again), and let every sweeper run at once (a restarted Redis lost its jobs)."""
        for job_id, task in list(self.tasks.items()):
            if task.done():
                del self.tasks[job_id]
                if not task.cancelled() and (exc := task.exception()) is not None:
                    log.info("job ended while redis was unavailable", job_id=job_id, error=str(exc)[:300])
        self._last_beat = float("-inf")
        for cron_job in self.cron_jobs:
            if cron_job.run_at_startup:
                cron_job.next_run = None

    async def close(self) -> None:
        """arq's close, which raises if Redis is down; the worker then still stops cleanly."""
        if self._pool is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await forget(self.pool, self.worker_id)
        try:
            await super().close()
        except REDIS_ERRORS as exc:
            log.warning("redis unavailable while stopping; closing anyway", error=str(exc)[:300])
            if self._pool is not None:
                await self._pool.aclose(close_connection_pool=True)
                self._pool = None


async def wait_for_redis(redis: ArqRedis, url: str, backoff: Backoff, sleep: Sleep = asyncio.sleep) -> None:
    """Return once Redis answers; until then one warning per back-off step saying what is awaited."""
    while True:
        try:
            await redis.ping()
        except REDIS_ERRORS as exc:
            delay = backoff.next_delay()
            log.warning(
                "redis unavailable; the worker waits for it", redis=_where(url), retry_in_s=delay, error=str(exc)[:300]
            )
            await sleep(delay)
        else:
            return


async def keep_running(
    worker: HubWorker, url: str, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep
) -> None:
    """arq's main loop, run again whenever it ends on a Redis error. Returns when it returns (burst
    mode); ends only by cancellation otherwise."""
    backoff = backoff or Backoff()
    lost = False
    while True:
        await wait_for_redis(worker.pool, url, backoff, sleep)
        if lost:
            log.info("redis is back; the worker resumes and sweeps at once", redis=_where(url))
            worker.after_outage()
        started = time.monotonic()
        try:
            await worker.main()
        except REDIS_ERRORS as exc:
            if time.monotonic() - started >= STABLE_AFTER_S:
                backoff.reset()
            lost = True
            log.warning("lost redis; the worker keeps running and reconnects", error=str(exc)[:300])
        else:
            return


@asynccontextmanager
async def database_when_up(
    url: str, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep
) -> AsyncIterator[None]:
    """`open_db`, waiting (with a back-off, one line per step) while the database is unavailable."""
    backoff = backoff or Backoff()
    async with contextlib.AsyncExitStack() as stack:
        while True:
            try:
                await stack.enter_async_context(open_db(url))
                break
            except Exception as exc:
                if not database_down(exc):
                    raise
                delay = backoff.next_delay()
                log.warning(
                    "database unavailable; the worker waits for it",
                    database=_where(url),
                    retry_in_s=delay,
                    error=f"{type(exc).__name__}: {exc}"[:300],
                )
                await sleep(delay)
        yield
