"""Processing a conversation's pending messages strictly in arrival order, each exactly once.

One processor per conversation at a time (a Redis lock with a TTL, so a killed worker's lock lapses).
A backlog is worked through in chunks, each one transaction that marks its messages processed with a
conditional update and moves the conversation's processed_upto mark past them: a killed worker rolls
back the chunk it was in and loses nothing; a second processor finds nothing pending and does nothing.
A chunk ends after about 25 ms (or when ingest waits for SQLite's write lock: bot/write_lock.py), at most
`processing.batch_size` messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import structlog
from arq.connections import ArqRedis
from redis.asyncio.lock import Lock
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from bot import events
from bot.alerts.delivery import Deliverer
from bot.alerts.service import Wakeups
from bot.clock import Clock
from bot.commands.dispatch import CommandDeps
from bot.db import connection, is_write_contention
from bot.locks import Turn, work_exclusively
from bot.metrics import observe_processed
from bot.rules.people import Directory
from bot.settings import Settings
from bot.tasks.service import TaskEffects
from bot.understanding.engine import Classification
from bot.write_lock import write_transaction
from handlers.pipeline import DEFAULT_STEPS, MessageUpdate, Services, Step, StepContext, run_pipeline
from handlers.understanding import llm_hints
from jobs.outages import database_unreachable
from models.conversations import Conversation
from models.messages import InboundMessage, MessageSighting, ProcessingState
from models.robots import note_callback

log = structlog.get_logger(__name__)
MAX_ATTEMPTS: Final = 3
LOCK_RETRIES: Final = 5


@dataclass(frozen=True)
class WorkerDeps:
    settings: Settings
    directory: Directory
    redis: ArqRedis
    clock: Clock
    steps: tuple[Step, ...] = DEFAULT_STEPS
    commands: CommandDeps | None = None  # the worker always sets it; processing-only tests need not
    services: Services | None = None  # rules, LLM, replies: the worker sets it
    deliverer: Deliverer | None = None  # alert notifications: the worker sets it when alerts are enabled


class _TakenElsewhere(Exception):
    """Another processor already handled a message of this batch."""


@dataclass
class BatchResult:
    """What a batch's committed chunks did (a chunk that rolled back adds nothing)."""

    processed: int = 0
    blocked: bool = False  # a message failed and will be retried later: stop, to keep the order
    heard: dict[str, datetime] = field(default_factory=dict)  # robot -> its latest report in the batch
    wake: set[str] = field(default_factory=set)  # robots with replies queued by the batch
    alerts: Wakeups = field(default_factory=Wakeups)  # alert steps and deliveries to schedule
    task_checks: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # user-response checks

    def merge(self, other: BatchResult) -> None:
        self.processed += other.processed
        for robot_id, at in other.heard.items():
            self.heard[robot_id] = max(at, self.heard.get(robot_id, at))
        self.wake |= other.wake
        self.alerts.merge(other.alerts)
        self.task_checks.update(other.task_checks)


async def process_conversations(ctx: dict[str, Any], conversation_ids: list[int]) -> int:
    """arq job: drain each conversation's pending messages. Returns how many it processed."""
    deps: WorkerDeps = ctx["deps"]
    total = 0
    for conversation_id in conversation_ids:
        with structlog.contextvars.bound_contextvars(conversation_id=conversation_id):  # on every line of its work
            total += await drain_conversation(deps, conversation_id)
    return total


async def drain_conversation(deps: WorkerDeps, conversation_id: int) -> int:
    """Process the conversation's pending messages in order, unless another processor holds it."""
    ttl = deps.settings.processing.lock_ttl_s
    llm = deps.settings.llm
    if deps.services is not None and deps.services.llm is not None and llm.enabled:
        # One LLM call (with its retries) must fit in the lock's lifetime: it is renewed between calls.
        ttl = max(ttl, llm.timeout_s * (llm.max_retries + 1) + 2.0 * llm.max_retries + 5.0)
    total = 0

    async def turn(lock: Lock) -> Turn:
        nonlocal total
        hints = await _llm_hints(deps, conversation_id, lock.reacquire)
        result = await process_batch(conversation_id, deps, hints, lock.reacquire)
        total += result.processed
        for robot_id, at in result.heard.items():
            await note_callback(robot_id, at)
        await _wake(deps, result.wake, result.alerts, result.task_checks)
        await events.conversation_processed(deps.redis, conversation_id, result.processed)  # committed: live event
        if result.blocked:
            return Turn.PAUSE  # a message failed and waits for a retry: later ones must wait too
        return Turn.IDLE if result.processed == 0 else Turn.MORE

    async def pending() -> bool:
        return await _pending(conversation_id).exists()

    await work_exclusively(deps.redis, f"hub:lock:conversation:{conversation_id}", ttl, turn, pending)
    return total


def _pending(conversation_id: int) -> QuerySet[InboundMessage]:
    """A conversation's pending messages, oldest first. Looked for above its processed_upto mark, so the
    (conversation_id, id) range starts where processing stopped, not at the conversation's first message."""
    mark = Subquery(Conversation.filter(id=conversation_id).values("processed_upto"))
    return InboundMessage.filter(conversation_id=conversation_id, id__gt=mark, state=ProcessingState.PENDING).order_by(
        "id"
    )


async def _wake(
    deps: WorkerDeps,
    robots: set[str],
    alerts: Wakeups | None = None,
    task_checks: dict[int, tuple[int, datetime]] | None = None,
) -> None:
    services = deps.services
    if services is not None and services.commands is not None:
        for robot_id in sorted(robots):
            await services.commands.wake(robot_id)
    if alerts and services is not None and services.alerts is not None:
        await services.alerts.schedule(alerts)
    if task_checks and services is not None and services.tasks is not None:
        await services.tasks.schedule(TaskEffects(checks=task_checks))


async def _llm_hints(
    deps: WorkerDeps, conversation_id: int, renew: Callable[[], Awaitable[object]]
) -> dict[int, Classification]:
    services = deps.services
    if services is None or services.llm is None or not services.llm.enabled:
        return {}
    pending = await _pending(conversation_id).limit(deps.settings.processing.batch_size)
    ctx = StepContext(deps.directory, deps.clock.now(), connection(), services, services.rules.current)
    return await llm_hints(pending, ctx, renew)


async def process_batch(
    conversation_id: int,
    deps: WorkerDeps,
    hints: dict[int, Classification] | None = None,
    renew: Callable[[], Awaitable[object]] | None = None,
) -> BatchResult:
    """Up to `processing.batch_size` pending messages, read before taking the write lock and processed in
    chunks, each its own short transaction (`_process_chunk`); `renew` keeps the conversation lock alive
    between chunks."""
    done = BatchResult()
    for attempt in range(LOCK_RETRIES):
        try:
            pending = list(await _pending(conversation_id).limit(deps.settings.processing.batch_size))
            while pending:
                pending = pending[await _process_chunk(conversation_id, deps, hints or {}, pending, done) :]
                if pending and renew is not None:
                    await renew()
        except _TakenElsewhere:
            log.info("batch already processed elsewhere", conversation_id=conversation_id)
            done.blocked = True
            return done
        except Exception as exc:
            if database_unreachable(exc):
                raise  # not the messages' fault: the job fails and arq retries it (jobs/outages.py)
            if not is_write_contention(exc):
                log.warning(
                    "batch failed; retrying its messages one by one", conversation_id=conversation_id, exc_info=True
                )
                rest = await _process_singly(conversation_id, deps, deps.settings.processing.batch_size, hints or {})
                done.merge(rest)
                done.blocked = rest.blocked
                return done
            await asyncio.sleep(0.02 * (attempt + 1))
        else:
            return done
    log.warning("database busy; the conversation waits for the next sweep", conversation_id=conversation_id)
    done.blocked = True
    return done


async def _process_chunk(
    conversation_id: int,
    deps: WorkerDeps,
    hints: dict[int, Classification],
    pending: list[InboundMessage],
    done: BatchResult,
) -> int:
    """The first of `pending` in one transaction that holds the write lock for about `HOLD_BUDGET_S` (less
    when ingest waits for it); adds what it did to `done` once committed and returns how many it took.
    The mark moves with each chunk, so the messages after it stay pending above it: the next chunk (or,
    after a crash, the sweeper's job) starts where this one committed."""
    chunk = BatchResult()
    async with write_transaction("process", conversation_id=conversation_id) as tx:
        conn = tx.conn
        messages: list[InboundMessage] = []
        for message in pending:
            with structlog.contextvars.bound_contextvars(message_id=message.id):
                update = await _process_one(message, deps, conn, hints)
            messages.append(message)
            chunk.wake |= update.wake
            chunk.alerts.merge(update.alerts)
            chunk.task_checks.update(update.task_checks)
            if tx.spent():
                break
        # Kept here, not at ingest: one update per processed chunk instead of one per callback batch.
        await (
            Conversation.filter(id=conversation_id)
            .using_db(conn)
            .update(last_message_at=messages[-1].received_at, processed_upto=messages[-1].id)
        )
        sightings = await (
            MessageSighting.filter(message_id__in=[m.id for m in messages])
            .using_db(conn)
            .values_list("robot_id", "received_at")
        )
    for robot_id, at in [(m.robot_id, m.received_at) for m in messages] + list(sightings):
        chunk.heard[robot_id] = max(at, chunk.heard.get(robot_id, at))
    chunk.processed = len(messages)
    observe_processed(deps.clock.now(), (m.received_at for m in messages))
    done.merge(chunk)
    return len(messages)


async def _process_one(
    message: InboundMessage, deps: WorkerDeps, conn: Any, hints: dict[int, Classification] | None = None
) -> MessageUpdate:
    """Run the pipeline and store its verdict; returns the update (what to wake after commit)."""
    now = deps.clock.now()
    rules = deps.services.rules.current if deps.services is not None else None
    ctx = StepContext(deps.directory, now, conn, deps.services, rules, hints or {})
    update = await run_pipeline(message, ctx, deps.steps)
    changed = await (
        InboundMessage.filter(id=message.id, state=ProcessingState.PENDING)
        .using_db(conn)
        .update(
            state=ProcessingState.PROCESSED,
            processed_at=now,
            attempts=message.attempts + 1,
            error=None,
            **update.fields,
        )
    )
    if changed != 1:
        raise _TakenElsewhere(message.id)
    log.debug("message processed", message_id=message.id, conversation_id=message.conversation_id, **update.fields)  # type: ignore[attr-defined]
    return update


async def _process_singly(
    conversation_id: int, deps: WorkerDeps, size: int, hints: dict[int, Classification]
) -> BatchResult:
    processed = 0
    pending = await _pending(conversation_id).limit(size)
    for message in pending:
        try:
            async with write_transaction("process", conversation_id=conversation_id) as tx:
                conn = tx.conn
                update = await _process_one(message, deps, conn, hints)
                await (
                    Conversation.filter(id=conversation_id)
                    .using_db(conn)
                    .update(last_message_at=message.received_at, processed_upto=message.id)
                )
            processed += 1
            observe_processed(deps.clock.now(), (message.received_at,))
            await _wake(deps, update.wake, update.alerts, update.task_checks)
        except _TakenElsewhere:
            return BatchResult(processed, blocked=True)
        except Exception as exc:
            if is_write_contention(exc):
                return BatchResult(processed, blocked=True)  # not the message's fault: no attempt counted
            if database_unreachable(exc):
                raise  # nor is a lost connection (a restarted PostgreSQL): arq retries the job
            attempts = message.attempts + 1
            state = ProcessingState.FAILED if attempts >= MAX_ATTEMPTS else ProcessingState.PENDING
            await InboundMessage.filter(id=message.id, state=ProcessingState.PENDING).update(
                attempts=attempts, error=f"{type(exc).__name__}: {exc}"[:2000], state=state
            )
            log.exception("message processing failed", message_id=message.id, attempts=attempts, state=state.value)
            if state is ProcessingState.FAILED:  # given up on: later messages go ahead
                observe_processed(deps.clock.now(), (message.received_at,), outcome="failed")
                await Conversation.filter(id=conversation_id).update(processed_upto=message.id)
            if state is ProcessingState.PENDING:
                return BatchResult(processed, blocked=True)  # retried by the sweeper; later messages wait
    return BatchResult(processed, blocked=False)
