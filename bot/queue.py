"""Waking the worker: per-conversation processing jobs on arq, and a sweeper for anything missed.

Ingest never waits on Redis. Committed batches hand their conversations to `Enqueuer`, whose own task
enqueues them; if Redis is down they stay pending in the database and the sweeper enqueues them later.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Final

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError
from tortoise.functions import Max, Min

from models.messages import InboundMessage, ProcessingState

log = structlog.get_logger(__name__)

PROCESS_JOB: Final = "process_conversation"


def arq_redis(url: str) -> ArqRedis:
    """A lazily connecting arq client (no ping: the service must start while Redis is down)."""
    redis: ArqRedis = ArqRedis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=10)
    return redis


def process_job_id(conversation_id: int, upto_message_id: int, suffix: str = "") -> str:
    # One id per (conversation, newest message): arq drops a duplicate while the first is queued.
    base = f"conv:{conversation_id}:{upto_message_id}"
    return f"{base}:{suffix}" if suffix else base


async def enqueue_processing(redis: ArqRedis, work: dict[int, int], suffix: str = "") -> None:
    for conversation_id, upto in work.items():
        await redis.enqueue_job(PROCESS_JOB, conversation_id, _job_id=process_job_id(conversation_id, upto, suffix))


class Enqueuer:
    """Collects {conversation: newest message id} and enqueues it from its own task."""

    def __init__(self, redis: ArqRedis, retry_s: float = 1.0) -> None:
        self._redis = redis
        self._retry_s = retry_s
        self._pending: dict[int, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.redis_ok = True

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="enqueuer")

    async def stop(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def add(self, work: dict[int, int]) -> None:
        for conv, upto in work.items():
            self._pending[conv] = max(upto, self._pending.get(conv, 0))
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._pending:
                work, self._pending = self._pending, {}
                try:
                    await enqueue_processing(self._redis, work)
                    if not self.redis_ok:
                        log.info("redis is back; processing jobs enqueued again")
                    self.redis_ok = True
                except (RedisError, OSError) as exc:
                    if self.redis_ok:
                        log.warning("redis unavailable; messages stay pending for the sweeper", error=str(exc))
                    self.redis_ok = False
                    for conv, upto in work.items():
                        self._pending[conv] = max(upto, self._pending.get(conv, 0))
                    if not self._closing:
                        await asyncio.sleep(self._retry_s)
                        self._wake.set()
            if self._closing:
                return


async def pending_work(now: datetime, grace: timedelta, limit: int = 1000) -> dict[int, int]:
    """Conversations whose oldest pending message is older than `grace`: {conversation: newest pending id}."""
    rows = await (
        InboundMessage.filter(state=ProcessingState.PENDING)
        .group_by("conversation_id")
        .annotate(oldest=Min("received_at"), upto=Max("id"))
        .limit(limit)
        .values_list("conversation_id", "oldest", "upto")
    )
    cutoff = now - grace
    return {int(conv): int(upto) for conv, oldest, upto in rows if _aware(oldest) <= cutoff}


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite aggregates come back as text
        value = datetime.fromisoformat(value)
    return value


async def sweep(redis: ArqRedis, now: datetime, grace: timedelta) -> int:
    """Enqueue processing for every conversation with an overdue pending message; returns how many.

    Sweep jobs get ids of their own: a job orphaned by a killed worker keeps its id reserved in arq
    until its in-progress key expires, and the sweep must not wait for that.
    """
    work = await pending_work(now, grace)
    if work:
        await enqueue_processing(redis, work, suffix=f"sweep{int(now.timestamp())}")
        log.info("sweeper enqueued pending conversations", conversations=len(work))
    return len(work)
