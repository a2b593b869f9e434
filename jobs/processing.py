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
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
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
from bot.effects import Effects
from bot.locks import Turn, work_exclusively
from bot.metrics import observe_processed
from bot.rules.people import Directory
from bot.settings import Settings
from bot.understanding.engine import ContextMessage
from bot.understanding.ruleset import RuleSet
from bot.write_lock import write_transaction
from handlers.pipeline import DEFAULT_STEPS, MessageUpdate, Services, Step, StepContext, Understood, run_pipeline
from handlers.state import ConversationState, load_state, recent_context
from handlers.store import TakenElsewhere, store_chunk
from handlers.understanding import understand_batch
from jobs.outages import database_unreachable
from models.conversations import Conversation
from models.messages import InboundMessage, MessageSighting, ProcessingState

log = structlog.get_logger(__name__)
MAX_ATTEMPTS: Final = 3
LOCK_RETRIES: Final = 5
# What the steps read of a message: the rest (the payload's JSON above all) is not loaded.
PIPELINE_FIELDS: Final = (
    "id",
    "conversation_id",
    "robot_id",
    "sender_name",
    "text",
    "raw_text",
    "at_me",
    "received_at",
    "attempts",
)
# Conversations a job drains at once: their database round trips overlap (SQLite's write transactions
# still take turns). More buys nothing on 2 cores and holds more locks.
CONCURRENT_CONVERSATIONS: Final = 8


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


@dataclass
class BatchResult:
    """What a batch's committed chunks did (a chunk that rolled back adds nothing)."""

    processed: int = 0
    blocked: bool = False  # a message failed and will be retried later: stop, to keep the order
    effects: Effects = field(default_factory=Effects)  # to apply once committed

    def merge(self, other: BatchResult) -> None:
        self.processed += other.processed
        self.effects.merge(other.effects)


async def process_conversations(ctx: dict[str, Any], conversation_ids: list[int]) -> int:
    """arq job: drain each conversation's pending messages, up to `CONCURRENT_CONVERSATIONS` at a time
    (each under its own lock, so each keeps its order). Each committed chunk's wake-ups go out as it
    commits (`_wake`: a reply never waits for the other conversations of the job); the rest of what the
    chunks left to do (robots' last reports) is applied once for the job. Returns how many it processed."""
    deps: WorkerDeps = ctx["deps"]
    room = asyncio.Semaphore(CONCURRENT_CONVERSATIONS)
    effects = Effects()

    async def drain(conversation_id: int) -> int:
        async with room:
            with structlog.contextvars.bound_contextvars(conversation_id=conversation_id):  # every line of its work
                return await drain_conversation(deps, conversation_id, effects)

    try:
        async with asyncio.TaskGroup() as group:
            drains = [group.create_task(drain(conversation_id)) for conversation_id in conversation_ids]
    finally:
        await _apply(deps, effects)  # what committed, even if a drain failed
    return sum(task.result() for task in drains)


async def drain_conversation(deps: WorkerDeps, conversation_id: int, effects: Effects | None = None) -> int:
    """Process the conversation's pending messages in order, unless another processor holds it. Wake-ups
    go out as each chunk commits; the rest of the after-commit effects is applied after each turn, or
    added to `effects` for the caller to apply."""
    ttl = deps.settings.processing.lock_ttl_s
    llm = deps.settings.llm
    if deps.services is not None and deps.services.llm is not None and llm.enabled:
        # One LLM call (with its retries) must fit in the lock's lifetime: it is renewed between calls.
        ttl = max(ttl, llm.timeout_s * (llm.max_retries + 1) + 2.0 * llm.max_retries + 5.0)
    total = 0

    async def turn(lock: Lock) -> Turn:
        nonlocal total
        result = await process_batch(conversation_id, deps, lock.reacquire)
        total += result.processed
        await events.conversation_processed(deps.redis, conversation_id, result.processed)  # committed: live event
        if effects is None:
            await _apply(deps, result.effects)
        else:
            effects.merge(result.effects)
        if result.blocked:
            return Turn.PAUSE  # a message failed and waits for a retry: later ones must wait too
        # A batch that was not full took everything pending: stop; the re-check after letting go finds
        # whatever arrived meanwhile (one lock renewal and one empty read fewer per conversation).
        return Turn.MORE if result.processed >= deps.settings.processing.batch_size else Turn.IDLE

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


async def _apply(deps: WorkerDeps, effects: Effects) -> None:
    services = deps.services
    if services is None:
        await effects.apply(commands=None, alerts=None, tasks=None)
        return
    await effects.apply(commands=services.commands, alerts=services.alerts, tasks=services.tasks)


async def _wake(deps: WorkerDeps, effects: Effects) -> None:
    """A committed chunk's wake-ups (robots with replies queued, alert steps, task checks), taken out of
    `effects`: Redis only, so they go out at once; a robot woken by several chunks of a job is woken more
    than once, which its dispatcher takes as one (each command is claimed once). What is left (when each
    robot last reported: a database write) is applied once per job."""
    wake = Effects(robots=effects.robots, alerts=effects.alerts, task_checks=effects.task_checks)
    effects.robots, effects.alerts, effects.task_checks = set(), Wakeups(), {}
    if not wake:
        return
    try:
        await _apply(deps, wake)
    except Exception as exc:  # the commit stands: a lost wake-up is found again by the sweepers
        if database_unreachable(exc):
            raise
        log.warning("wake-ups not sent; the sweepers will catch up", exc_info=True)


async def _no_renewal() -> None:
    return None


async def process_batch(
    conversation_id: int, deps: WorkerDeps, renew: Callable[[], Awaitable[object]] | None = None
) -> BatchResult:
    """Up to `processing.batch_size` pending messages: read and classified once, before taking the write
    lock (the LLM too, when enabled), then worked through in chunks, each its own short transaction
    (`_process_chunk`); `renew` keeps the conversation lock alive between chunks and LLM calls."""
    done = BatchResult()
    renew = renew or _no_renewal
    pending = list(await _pending(conversation_id).limit(deps.settings.processing.batch_size).only(*PIPELINE_FIELDS))
    if not pending:
        return done
    services = deps.services
    rules = services.rules.current if services is not None else None
    recent = await recent_context(conversation_id, pending[0], deps.directory, connection())
    understood: dict[int, Understood] = {}
    if rules is not None and services is not None:
        llm = services.llm if services.llm is not None and services.llm.enabled else None
        threshold = deps.settings.llm.confidence_threshold
        before = ConversationState(recent=recent)
        understood = await understand_batch(pending, before, rules, deps.directory, llm, threshold, renew)
    batch = Batch(conversation_id, rules, understood, recent)
    for attempt in range(LOCK_RETRIES):
        try:
            while pending:
                pending = pending[await _process_chunk(batch, deps, pending, done) :]
                if pending:
                    await renew()
        except TakenElsewhere:
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
                # Only the LLM's verdicts are kept: the rules judge each message again in its own context.
                asked = {i: u for i, u in understood.items() if u.classification.source == "llm"}
                rest = await _process_singly(replace(batch, understood=asked), deps, len(pending))
                done.merge(rest)
                done.blocked = rest.blocked
                return done
            await asyncio.sleep(0.02 * (attempt + 1))
        else:
            return done
    log.warning("database busy; the conversation waits for the next sweep", conversation_id=conversation_id)
    done.blocked = True
    return done


@dataclass
class Batch:
    """A conversation's batch: the rule set in force for all of it, what was classified before the
    transaction, and the recent context as of the last committed chunk."""

    conversation_id: int
    rules: RuleSet | None
    understood: dict[int, Understood]
    recent: deque[ContextMessage]


async def _process_chunk(batch: Batch, deps: WorkerDeps, pending: list[InboundMessage], done: BatchResult) -> int:
    """The first of `pending` in one transaction that holds the write lock for about `HOLD_BUDGET_S` (less
    when ingest waits for it); adds what it did to `done` once committed and returns how many it took.
    The mark moves with each chunk, so the messages after it stay pending above it: the next chunk (or,
    after a crash, the sweeper's job) starts where this one committed."""
    chunk = BatchResult()
    conversation_id = batch.conversation_id
    async with write_transaction("process", conversation_id=conversation_id) as tx:
        conn = tx.conn
        # A copy: a chunk that rolls back must leave the batch's context as it was.
        state = await load_state(conversation_id, batch.recent.copy(), conn)
        processed: list[tuple[InboundMessage, MessageUpdate]] = []
        for message in pending:
            with structlog.contextvars.bound_contextvars(message_id=message.id):
                update = await _process_one(message, deps, conn, batch, state)
            processed.append((message, update))
            chunk.effects.merge(update.effects)
            if tx.spent():
                break
        await store_chunk(conn, conversation_id, processed, state, deps.clock.now())
        sightings = await (
            MessageSighting.filter(message_id__in=[m.id for m, _ in processed])
            .using_db(conn)
            .values_list("robot_id", "received_at")
        )
    batch.recent = state.recent
    await _wake(deps, chunk.effects)  # committed: its replies go out now, not after the batch or the job
    messages = [m for m, _ in processed]
    for robot_id, at in [(m.robot_id, m.received_at) for m in messages] + list(sightings):
        chunk.effects.hear(robot_id, at)
    chunk.processed = len(messages)
    observe_processed(deps.clock.now(), (m.received_at for m in messages))
    log.debug("chunk processed", conversation_id=conversation_id, messages=len(messages))
    done.merge(chunk)
    return len(messages)


async def _process_one(
    message: InboundMessage, deps: WorkerDeps, conn: Any, batch: Batch, state: ConversationState
) -> MessageUpdate:
    """Run the pipeline over one message, in memory but for what a step must change in the database;
    its verdict is stored with the chunk (handlers/store.py)."""
    ctx = StepContext(deps.directory, deps.clock.now(), conn, deps.services, batch.rules, batch.understood, state)
    return await run_pipeline(message, ctx, deps.steps)


async def _process_singly(batch: Batch, deps: WorkerDeps, size: int) -> BatchResult:
    processed = 0
    conversation_id = batch.conversation_id
    pending = await _pending(conversation_id).limit(size)
    for message in pending:
        try:
            recent = await recent_context(conversation_id, message, deps.directory, connection())
            async with write_transaction("process", conversation_id=conversation_id) as tx:
                conn = tx.conn
                state = await load_state(conversation_id, recent, conn)
                with structlog.contextvars.bound_contextvars(message_id=message.id):
                    update = await _process_one(message, deps, conn, batch, state)
                await store_chunk(conn, conversation_id, [(message, update)], state, deps.clock.now())
            processed += 1
            observe_processed(deps.clock.now(), (message.received_at,))
            await _apply(deps, update.effects)
        except TakenElsewhere:
            return BatchResult(processed, blocked=True)
        except Exception as exc:
            if is_write_contention(exc):
                return BatchResult(processed, blocked=True)  # not the message's fault: no attempt counted
            if database_unreachable(exc):
                raise  # nor is a lost connection (a restarted PostgreSQL): arq retries the job
            attempts = message.attempts + 1
            state_after = ProcessingState.FAILED if attempts >= MAX_ATTEMPTS else ProcessingState.PENDING
            await InboundMessage.filter(id=message.id, state=ProcessingState.PENDING).update(
                attempts=attempts, error=f"{type(exc).__name__}: {exc}"[:2000], state=state_after
            )
            log.exception(
                "message processing failed", message_id=message.id, attempts=attempts, state=state_after.value
            )
            if state_after is ProcessingState.FAILED:  # given up on: later messages go ahead
                observe_processed(deps.clock.now(), (message.received_at,), outcome="failed")
                await Conversation.filter(id=conversation_id).update(processed_upto=message.id)
            if state_after is ProcessingState.PENDING:
                return BatchResult(processed, blocked=True)  # retried by the sweeper; later messages wait
    return BatchResult(processed, blocked=False)
