"""Waking the worker: per-conversation processing jobs on arq, and a sweeper for anything missed.

Ingest never waits on Redis. Committed batches hand their conversations to `Enqueuer`, whose own task
enqueues them; if Redis is down they stay pending in the database and the sweeper enqueues them later.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final, NamedTuple

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError
from tortoise.expressions import Subquery

from bot.db import connection
from bot.job_names import CHECK_RESULTS_JOB, DISPATCH_JOB, DISPATCH_QUEUE, PROCESS_JOB
from models.conversations import Conversation
from models.messages import PENDING_CONVERSATIONS_SQL, PENDING_COUNT_SQL, InboundMessage, ProcessingState

log = structlog.get_logger(__name__)

CONVERSATIONS_PER_JOB: Final = 100


def arq_redis(url: str) -> ArqRedis:
    """A lazily connecting arq client (no ping: the service must start while Redis is down)."""
    redis: ArqRedis = ArqRedis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=10)
    return redis


async def enqueue_processing(redis: ArqRedis, conversation_ids: Iterable[int], tag: str) -> int:
    """One job per chunk of conversations (not per message: enqueueing costs more than storing).

    Job ids are unique (`tag` + chunk): the per-conversation lock in the worker, not arq's id dedup,
    keeps two jobs from processing one conversation at once. Returns the number of jobs.
    """
    ids = sorted(set(conversation_ids))
    chunks = [ids[i : i + CONVERSATIONS_PER_JOB] for i in range(0, len(ids), CONVERSATIONS_PER_JOB)]
    for n, chunk in enumerate(chunks):
        await redis.enqueue_job(PROCESS_JOB, chunk, _job_id=f"process:{tag}:{n}")
    return len(chunks)


class Enqueuer:
    """Collects conversations with new messages and enqueues them from its own task.

    It flushes at most every `interval_s`, so under load one job covers many callbacks; under light
    load a message waits at most that long before its job is queued.
    """

    def __init__(self, redis: ArqRedis, interval_s: float = 0.05, retry_s: float = 1.0) -> None:
        self._redis = redis
        self._interval_s = interval_s
        self._retry_s = retry_s
        self._pending: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._flushes = 0
        self._tag = f"{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self.redis_ok = True

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="enqueuer")

    async def stop(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def add(self, conversation_ids: set[int]) -> None:
        self._pending.update(conversation_ids)
        self._wake.set()

    async def _run(self) -> None:
        while not self._closing or self._pending:
            await self._wake.wait()
            self._wake.clear()
            if not self._pending:
                continue
            work, self._pending = self._pending, set()
            self._flushes += 1
            try:
                await enqueue_processing(self._redis, work, f"{self._tag}.{self._flushes}")
                if not self.redis_ok:
                    log.info("redis is back; processing jobs enqueued again")
                self.redis_ok = True
            except (RedisError, OSError) as exc:
                if self.redis_ok:
                    log.warning("redis unavailable; messages stay pending for the sweeper", error=str(exc))
                self.redis_ok = False
                self._pending |= work
                if self._closing:
                    return  # the sweeper finds them after a restart
                await asyncio.sleep(self._retry_s)
                self._wake.set()
                continue
            if not self._closing:
                await asyncio.sleep(self._interval_s)


async def pending_count() -> int:
    """Messages waiting for the worker (index-only over the pending rows)."""
    rows = await connection().execute_query_dict(PENDING_COUNT_SQL)
    return int(rows[0]["n"])


# The oldest pending message is the lowest pending id (ids follow arrival): one step into the partial index.
OLDEST_PENDING_SQL: Final = 'SELECT MIN("id") AS "first" FROM "inbound_messages" WHERE "state" = \'pending\''


class Backlog(NamedTuple):
    pending: int
    oldest_at: datetime | None  # when the oldest pending message arrived; None if nothing is pending


async def pending_backlog() -> Backlog:
    """How many messages wait for the worker and since when (for /readyz)."""
    count = await pending_count()
    if count == 0:
        return Backlog(0, None)
    rows = await connection().execute_query_dict(OLDEST_PENDING_SQL)
    first = rows[0]["first"]
    if first is None:  # processed meanwhile
        return Backlog(0, None)
    oldest = await InboundMessage.filter(id=int(first)).only("id", "received_at").first()
    return Backlog(count, oldest.received_at if oldest is not None else None)


async def pending_work(now: datetime, grace: timedelta) -> dict[int, int]:
    """Conversations whose oldest pending message is older than `grace`: {conversation: newest pending id}.

    Over the pending rows only (the partial index; a backlog can be large while the worker is down),
    then one primary-key lookup per conversation for the age of its oldest pending message.
    """
    rows = await connection().execute_query_dict(PENDING_CONVERSATIONS_SQL)  # at most 5,000 per sweep
    if not rows:
        return {}
    firsts = {int(row["first"]): (int(row["conversation_id"]), int(row["upto"])) for row in rows}
    cutoff = now - grace
    found = await InboundMessage.filter(id__in=list(firsts), received_at__lte=cutoff).values_list("id", flat=True)
    aged = [int(mid) for mid in found]  # type: ignore[call-overload]
    await _mend_marks({firsts[mid][0]: mid for mid in aged})
    return dict(firsts[mid] for mid in aged)


async def _mend_marks(oldest_pending: dict[int, int]) -> None:
    """A conversation whose processed_upto mark is at or above a pending message would never get it
    processed: lower the mark to just below it (never expected; said loudly if it happens)."""
    marks = await Conversation.filter(id__in=list(oldest_pending)).values_list("id", "processed_upto")
    for conv_id, upto in marks:
        first = oldest_pending[int(conv_id)]
        if int(upto) < first:
            continue
        still_pending = Subquery(
            InboundMessage.filter(id=first, state=ProcessingState.PENDING).values("conversation_id")
        )
        # In one statement, only while that message is still pending: the worker may have just taken it.
        lowered = await Conversation.filter(id=conv_id, processed_upto__gte=first, id__in=still_pending).update(
            processed_upto=first - 1
        )
        if lowered:
            log.warning("processed_upto was above a pending message; lowered", conversation_id=conv_id, mark=upto)


async def sweep(redis: ArqRedis, now: datetime, grace: timedelta) -> int:
    """Enqueue processing for every conversation with an overdue pending message; returns how many.

    Sweep jobs get ids of their own: a job orphaned by a killed worker keeps its id reserved in arq
    until its in-progress key expires, and the sweep must not wait for that.
    """
    work = await pending_work(now, grace)
    if work:
        await enqueue_processing(redis, work, f"sweep.{now.timestamp():.3f}")
        log.info("sweeper enqueued pending conversations", conversations=len(work))
    return len(work)


async def enqueue_dispatch(
    redis: ArqRedis, robot_id: str, slot: datetime | None = None, now: datetime | None = None
) -> None:
    """Wake the robot's dispatcher now (a unique job: never swallowed by one in progress) or at a pacing
    slot (one job per slot: repeated scheduling of the same slot is a no-op). On the sends' own queue
    (`DISPATCH_QUEUE`), never behind the processing backlog.

    Delays are passed to arq relative to `now` (the caller's clock), not as absolute times: arq
    measures them against its own clock."""
    if slot is None:
        job_id = f"dispatch:{robot_id}:{uuid.uuid4().hex}"
        await redis.enqueue_job(DISPATCH_JOB, robot_id, _job_id=job_id, _queue_name=DISPATCH_QUEUE)
        return
    delay = max(slot - (now or slot), timedelta(0))
    job_id = f"dispatch:{robot_id}:at:{int(slot.timestamp() * 1000)}"
    await redis.enqueue_job(DISPATCH_JOB, robot_id, _job_id=job_id, _defer_by=delay, _queue_name=DISPATCH_QUEUE)


async def enqueue_result_check(redis: ArqRedis, due: datetime, now: datetime, key: str) -> None:
    """The 60-second check, deferred to the due time (the database holds the due time; the sweeper
    catches any check whose job was lost)."""
    await redis.enqueue_job(CHECK_RESULTS_JOB, _job_id=f"check:{key}", _defer_by=max(due - now, timedelta(0)))
