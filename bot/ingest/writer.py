"""Group commit: callbacks wait here until the batch holding them is committed, then get their 200.

One writer task per process drains a queue: everything that arrived while the previous batch was being
written goes into the next transaction. A callback is answered only after its batch is committed, so an
acknowledged message is durable; the dedup decision for a batch is taken inside the transaction that
stores it (on PostgreSQL under an advisory lock, so several ingest processes stay exact).

Callbacks share transactions, so one value the database refuses would fail its innocent neighbours,
which WorkTool never re-sends. Values are made storable before they get here (bot/callbacks/cleaning.py);
should one still be refused, the batch is split until the culprit stands alone (IngestRefused, a 400)
and everything else in it is stored. A failure of the database itself is retried whole, then 503.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import structlog

from bot.db import is_write_contention
from bot.ingest.failures import is_data_error
from bot.ingest.incoming import Incoming
from bot.ingest.plan import BatchPlan, Stored
from bot.ingest.postgres_backend import PostgresIngestBackend
from bot.ingest.recent import RecentMessages
from bot.ingest.sqlite_backend import SqliteIngestBackend
from bot.logging import redact
from bot.metrics import count_verdict, observe_batch

log = structlog.get_logger(__name__)


class Backend(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def commit(self, batch: Sequence[Incoming]) -> BatchPlan: ...


def backend_for(database_url: str, window: timedelta, external_id_horizon: timedelta | None = None) -> Backend:
    recent = RecentMessages(window, external_id_horizon or window)
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://").split("?", 1)[0]
        return SqliteIngestBackend(path, recent)
    return PostgresIngestBackend(database_url, recent)


class IngestUnavailable(Exception):
    """The database could not take the batch within the retry budget."""


class IngestRefused(Exception):
    """The database refused this callback's values (its batch neighbours were stored without it)."""


OnCommitted = Callable[[set[int]], Awaitable[None]]  # conversations that got new messages


@dataclass(slots=True)
class _Item:
    incoming: Incoming
    future: asyncio.Future[Stored]
    arrived: float  # perf_counter() at submit: the retry budget counts from here


class IngestWriter:
    """Batches callbacks into transactions. `start()` in the owning task, `stop()` drains and ends."""

    def __init__(
        self,
        *,
        backend: Backend,
        max_batch: int,
        on_committed: OnCommitted | None = None,
        retry_budget_s: float = 2.0,
        gather_turns: int = 3,
    ) -> None:
        self._backend = backend
        self._max_batch = max_batch
        self._on_committed = on_committed
        self._retry_budget_s = retry_budget_s
        # How long the last failed commit took to fail (None once one succeeds): a batch whose callbacks
        # have less budget left than that is answered 503 at once instead of after one more slow attempt.
        self._failing_s: float | None = None
        self._last_error = ""
        self._gather_turns = gather_turns
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    async def start(self) -> None:
        await self._backend.open()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ingest-writer")

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None
        await self._backend.close()

    async def submit(self, incoming: Incoming) -> Stored:
        if self._task is None or self._task.done():
            raise RuntimeError("the ingest writer is not running")
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Item(incoming, future, time.perf_counter()))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            # Group commit: give callbacks already received by the event loop a turn to join this batch.
            # A commit costs about the same for 1 or 20 messages, so fuller batches are what make it cheap.
            for _ in range(self._gather_turns):
                before = self._queue.qsize()
                await asyncio.sleep(0)
                if self._queue.qsize() == before:
                    break
            while len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._write(batch)

    async def _write(self, batch: list[_Item]) -> None:
        """Commit the batch; if a value in it fails the transaction, split it until the culprit stands
        alone, so only the culprit is refused and its neighbours are stored (in arrival order)."""
        started = time.perf_counter()
        # The budget runs from the oldest callback's arrival, not from this batch's start: callbacks that
        # queued behind a batch retrying through an outage have already used part of WorkTool's 3 s.
        oldest = min(item.arrived for item in batch)
        parts = [batch]
        conversations: set[int] = set()
        while parts:
            part = parts.pop(0)
            outcome = await self._commit(part, oldest)
            if outcome is None:
                continue
            if isinstance(outcome, BatchPlan):
                self._answer(part, outcome)
                conversations |= outcome.conversations_with_new
                continue
            if len(part) > 1:
                half = len(part) // 2
                parts[:0] = [part[:half], part[half:]]
                continue
            log.warning(
                "callback refused by the database; its batch neighbours are stored",
                robot_id=part[0].incoming.robot_id,
                error=redact(str(outcome)),
            )
            self._fail(part, IngestRefused(redact(str(outcome), limit=200)))
        spent_s = time.perf_counter() - started
        observe_batch(len(batch), spent_s)
        log.debug("ingest batch committed", size=len(batch), ms=round(spent_s * 1000, 2))
        if conversations and self._on_committed is not None:
            try:
                await self._on_committed(conversations)
            except Exception:  # enqueueing is best effort: the sweeper finds pending messages
                log.warning("enqueue after commit failed; the sweeper will pick the messages up", exc_info=True)

    async def _commit(self, part: list[_Item], started: float) -> BatchPlan | Exception | None:
        """The part's plan once committed, or the data error that rolled it back. A failure of the
        database itself is retried within the budget, then the callers get IngestUnavailable (503) and
        the answer is None."""
        incoming = [item.incoming for item in part]
        attempt = 0
        while True:
            attempt += 1
            tried_at = time.perf_counter()
            if (
                attempt == 1
                and self._failing_s is not None
                and tried_at - started + self._failing_s > self._retry_budget_s
            ):
                log.error("ingest batch not tried: no time left to answer within the window; 503", size=len(part))
                self._fail(part, IngestUnavailable(self._last_error or "database unavailable"))
                return None
            try:
                plan = await self._backend.commit(incoming)
            except Exception as exc:  # noqa: BLE001 - the whole part rolled back: nothing of it is half-stored
                if is_data_error(exc):
                    return exc
                self._failing_s, self._last_error = time.perf_counter() - tried_at, redact(str(exc), limit=200)
                # WorkTool never re-sends a message callback: ride out a short database outage (or a
                # lost race with another ingest process) inside the platform's 3 s answer limit. Another
                # attempt is made only if it can end within the budget, judged by how long this one took
                # (a database refusing connections can take a good part of a second to say so).
                now = time.perf_counter()
                waited, took = now - started, now - tried_at
                if waited + self._retry_delay(attempt) + took > self._retry_budget_s:
                    # No traceback: an outage is not a code fault, and rendering one per batch (with its
                    # locals) held the event loop ~0.3-0.9 s, pushing queued callbacks past 2.5 s.
                    log.error(  # noqa: TRY400
                        "ingest batch failed; callers get 503",
                        size=len(part),
                        attempts=attempt,
                        error=redact(str(exc)),
                    )
                    self._fail(part, IngestUnavailable(self._last_error))
                    return None
                # Losing the write lock to the worker for a moment is routine on SQLite; anything else is not.
                report = log.info if is_write_contention(exc) and attempt == 1 else log.warning
                report("ingest batch failed; retrying", size=len(part), attempt=attempt, error=redact(str(exc)))
                await asyncio.sleep(self._retry_delay(attempt, contended=is_write_contention(exc)))
            else:
                self._failing_s = None
                return plan

    def _answer(self, part: list[_Item], plan: BatchPlan) -> None:
        self.batches += 1
        for item, result in zip(part, plan.results, strict=True):
            count_verdict(result.verdict)
            if not item.future.done():  # the caller may have gone away (client disconnect)
                item.future.set_result(result)

    @staticmethod
    def _fail(part: list[_Item], error: Exception) -> None:
        for item in part:
            if not item.future.done():
                item.future.set_exception(error)

    @staticmethod
    def _retry_delay(attempt: int, *, contended: bool = False) -> float:
        # The worker gives a waiting ingest the write lock at its next message (bot/write_lock.py): come back soon.
        first = 0.005 if contended else 0.05
        return float(min(first * 2 ** (attempt - 1), 0.5))
