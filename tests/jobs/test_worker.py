"""Stopping the worker: a cancellation the main loop swallows must not keep it running."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from arq import Retry, cron, func
from redis.exceptions import ConnectionError as RedisConnectionError
from structlog.testing import capture_logs
from tortoise.exceptions import DBConnectionError, OperationalError

from bot.clock import FrozenClock
from bot.embedded_redis import free_port
from bot.queue import arq_redis
from bot.readiness import heartbeats
from jobs.outages import (
    Backoff,
    HubWorker,
    database_down,
    database_unreachable,
    database_when_up,
    keep_running,
    retry_when_database_down,
    skip_when_database_down,
    wait_for_redis,
)
from jobs.worker import stop_on_signal
from models.messages import InboundMessage


class SwallowingWorker:
    """Stands in for arq's Worker: its main loop swallows the first cancel, as redis-py sometimes does."""

    def __init__(self) -> None:
        self.main_task: asyncio.Task[None] | None = None
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.allow_pick_jobs = True
        self.cancels_swallowed = 0
        self.signals: list[signal.Signals] = []

    async def main(self) -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if self.cancels_swallowed == 0:
                    self.cancels_swallowed += 1
                    continue
                raise

    def handle_sig(self, sig: signal.Signals) -> None:
        self.signals.append(sig)
        for task in self.tasks.values():
            task.cancel()
        assert self.main_task is not None
        self.main_task.cancel()


async def test_a_swallowed_cancel_is_repeated_until_the_main_loop_ends() -> None:
    worker = SwallowingWorker()
    worker.main_task = asyncio.create_task(worker.main())
    await asyncio.sleep(0)
    armed: list[tuple[float, str]] = []
    fake: Any = worker
    stop_on_signal(fake, signal.SIGTERM, arm_watchdog=lambda s, what: armed.append((s, what)))
    done, _ = await asyncio.wait({worker.main_task}, timeout=5)
    assert done == {worker.main_task}
    assert worker.main_task.cancelled()
    assert worker.cancels_swallowed == 1
    assert worker.signals == [signal.SIGTERM]
    assert armed
    assert armed[0][1] == "the worker"


async def test_running_jobs_get_a_grace_period_then_are_cancelled() -> None:
    worker = SwallowingWorker()
    worker.main_task = asyncio.create_task(worker.main())
    quick = asyncio.create_task(asyncio.sleep(0.05))
    stuck = asyncio.create_task(asyncio.sleep(3600))
    worker.tasks = {"quick": quick, "stuck": stuck}
    fake: Any = worker
    stopping = stop_on_signal(fake, signal.SIGTERM, arm_watchdog=lambda s, w: None, grace_s=0.3)
    await asyncio.sleep(0.1)
    assert worker.allow_pick_jobs is False
    assert quick.done()
    assert not quick.cancelled()
    assert worker.signals == []  # nothing cancelled yet
    await stopping
    assert stuck.cancelled() or stuck.cancelling()
    assert worker.signals == [signal.SIGTERM]
    done, _ = await asyncio.wait({worker.main_task}, timeout=5)
    assert done == {worker.main_task}


# --- Outages: Redis and the database going away (jobs/outages.py) ---


class FlakyRedis:
    """Answers PING only after `failures` refusals."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.pings = 0

    async def ping(self) -> bool:
        self.pings += 1
        if self.pings <= self.failures:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")
        return True


class LosingWorker:
    """Stands in for HubWorker: its main loop loses Redis `losses` times, then ends (as in burst mode)."""

    def __init__(self, losses: int, redis: FlakyRedis) -> None:
        self.pool = redis
        self.losses = losses
        self.runs = 0
        self.recoveries = 0

    async def main(self) -> None:
        self.runs += 1
        if self.runs <= self.losses:
            raise RedisConnectionError("Connection closed by server.")

    def after_outage(self) -> None:
        self.recoveries += 1


def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_reset() -> None:
    backoff = Backoff(first_s=0.5, max_s=5.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


async def test_the_worker_waits_for_redis_with_one_line_per_backoff_step() -> None:
    redis = FlakyRedis(failures=4)
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    fake: Any = redis
    with capture_logs() as logs:
        await wait_for_redis(fake, "redis://:secret@10.0.0.5:6379/0", Backoff(), sleep)
    assert slept == [0.5, 1.0, 2.0, 4.0]
    assert [entry["event"] for entry in logs] == ["redis unavailable; the worker waits for it"] * 4
    assert [entry["retry_in_s"] for entry in logs] == slept
    assert {entry["redis"] for entry in logs} == {"10.0.0.5:6379/0"}  # never the password


async def test_the_main_loop_is_run_again_after_each_redis_loss() -> None:
    redis = FlakyRedis(failures=1)  # not up at start either
    worker = LosingWorker(losses=2, redis=redis)
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    fake: Any = worker
    with capture_logs() as logs:
        await keep_running(fake, "redis://127.0.0.1:6399/0", Backoff(), sleep)
    assert worker.runs == 3  # two losses, then the run that ended normally
    assert worker.recoveries == 2  # each restart first reaps dead jobs and re-arms the sweepers
    assert slept == [0.5]  # only the start had to wait: Redis answered right after each loss
    events = [entry["event"] for entry in logs]
    assert events.count("lost redis; the worker keeps running and reconnects") == 2
    assert events.count("redis is back; the worker resumes and sweeps at once") == 2


async def test_a_stop_while_waiting_for_redis_ends_the_loop() -> None:
    worker = LosingWorker(losses=0, redis=FlakyRedis(failures=10**6))
    fake: Any = worker
    task = asyncio.create_task(keep_running(fake, "redis://127.0.0.1:6399/0", Backoff(first_s=0.01, max_s=0.01)))
    await asyncio.sleep(0.05)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)
    assert done == {task}
    assert task.cancelled()
    assert worker.runs == 0


@pytest.mark.parametrize(
    ("exc", "down"),
    [
        (ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"), True),
        (
            asyncpg.exceptions.ObjectNotInPrerequisiteStateError(
                'database "hub" is not currently accepting connections'
            ),
            True,
        ),
        (OperationalError("database is locked"), True),
        (DBConnectionError("cannot connect"), True),
        (OperationalError("no such table: inbound_messages"), False),
        (asyncpg.exceptions.UniqueViolationError("duplicate key value"), False),
        (ValueError("a bug"), False),
    ],
)
def test_database_down_tells_an_outage_from_a_fault(exc: Exception, down: bool) -> None:
    assert database_down(exc) is down
    locked = "database is locked" in str(exc)  # contention: the database is there, only busy
    assert database_unreachable(exc) is (down and not locked)


def test_database_down_looks_through_wrapping() -> None:
    def query() -> None:
        try:
            raise ConnectionRefusedError(111, "refused")
        except ConnectionRefusedError as inner:
            raise OperationalError("query failed") from inner

    with pytest.raises(OperationalError) as caught:
        query()
    assert database_down(caught.value)


async def test_a_job_that_met_a_database_outage_is_retried_later() -> None:
    calls: list[int] = []

    async def job(ctx: dict[str, Any], n: int) -> int:
        calls.append(n)
        if ctx["job_try"] < 3:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
        return n * 2

    wrapped = retry_when_database_down(func(job, name="job", max_tries=5))
    assert (wrapped.name, wrapped.max_tries) == ("job", 5)
    with capture_logs() as logs:
        with pytest.raises(Retry) as first:
            await wrapped.coroutine({"job_try": 1}, 7)
        with pytest.raises(Retry) as second:
            await wrapped.coroutine({"job_try": 2}, 7)
    assert (first.value.defer_score, second.value.defer_score) == (2000, 4000)
    assert await wrapped.coroutine({"job_try": 3}, 7) == 14
    assert calls == [7, 7, 7]
    assert [entry["event"] for entry in logs] == ["database unavailable; job retried later"] * 2


async def test_a_job_that_fails_on_its_own_is_not_retried() -> None:
    async def job(ctx: dict[str, Any]) -> None:
        raise ValueError("a bug")

    wrapped = retry_when_database_down(func(job, name="job"))
    with pytest.raises(ValueError, match="a bug"):
        await wrapped.coroutine({"job_try": 1})


async def test_a_sweeper_without_its_database_waits_for_its_next_run() -> None:
    async def sweep_something(ctx: dict[str, Any]) -> int:
        raise OperationalError("database is locked")

    original = cron(sweep_something, second={0})
    wrapped = skip_when_database_down(original)
    assert (wrapped.name, wrapped.second) == (original.name, {0})
    with capture_logs() as logs:
        assert await wrapped.coroutine({}) is None
    assert logs[0]["event"] == "database unavailable; sweep skipped until its next run"


async def noop(ctx: dict[str, Any]) -> None:
    return None


def hub_worker(redis_url: str, clock: FrozenClock) -> HubWorker:
    return HubWorker(
        functions=[func(noop, name="noop")],
        cron_jobs=[cron(noop, second={0}, run_at_startup=True)],
        redis_pool=arq_redis(redis_url),
        burst=True,
        handle_signals=False,
        poll_delay=0.01,
        max_jobs=3,
        clock=clock,
        heartbeat_s=5.0,
    )


async def test_a_job_slot_taken_when_redis_went_away_is_given_back(clock: FrozenClock) -> None:
    worker = hub_worker(f"redis://127.0.0.1:{free_port()}/0", clock)  # nothing listens there
    for _ in range(5):  # more outages than the worker has job slots
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(worker.start_jobs([b"some-job"]), timeout=5)  # arq alone blocks at the 4th
    assert worker.job_counter == 0
    assert not worker.sem.locked()
    await worker.close()  # Redis is still down: closes anyway


async def test_the_poll_loop_beats_and_a_clean_stop_says_goodbye(redis_url: str, clock: FrozenClock) -> None:
    worker = hub_worker(redis_url, clock)
    await worker.main()  # burst: one poll, the startup cron, then the queue is empty
    assert await heartbeats(worker.pool) == {worker.worker_id: clock.now().timestamp()}
    await worker.close()
    redis = arq_redis(redis_url)
    assert await heartbeats(redis) == {}
    await redis.aclose()


async def test_after_an_outage_dead_jobs_are_reaped_and_sweepers_rearmed(redis_url: str, clock: FrozenClock) -> None:
    worker = hub_worker(redis_url, clock)
    await worker.main()
    assert worker.cron_jobs[0].next_run is not None

    async def lost() -> None:
        raise RedisConnectionError("Connection closed by server.")

    dead = asyncio.create_task(lost())
    running = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    worker.tasks = {"dead": dead, "running": running}
    worker.after_outage()
    assert worker.tasks == {"running": running}
    assert worker.cron_jobs[0].next_run is None  # runs again as soon as the loop does
    running.cancel()
    worker.tasks = {}
    await worker.close()


class Stop(Exception):
    """Ends a wait loop in a test."""


async def test_the_worker_waits_for_its_database_at_start() -> None:
    url = f"postgres://postgres@127.0.0.1:{free_port()}/hub"  # nothing listens there
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)
        if len(slept) == 3:
            raise Stop

    with capture_logs() as logs, pytest.raises(Stop):
        async with database_when_up(url, Backoff(), sleep):
            pytest.fail("the database is not there")
    assert slept == [0.5, 1.0, 2.0]
    assert [entry["event"] for entry in logs] == ["database unavailable; the worker waits for it"] * 3
    assert {entry["database"] for entry in logs} == {url.removeprefix("postgres://postgres@")}


async def test_a_database_that_is_there_opens_at_once(db_url: str) -> None:
    async def sleep(delay: float) -> None:
        raise AssertionError("no wait expected")

    async with database_when_up(db_url, Backoff(), sleep):
        assert await InboundMessage.all().count() == 0
