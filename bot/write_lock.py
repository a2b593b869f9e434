"""SQLite's one write lock: short write transactions for the worker, and ingest goes first.

Every writer of every process takes turns at SQLite's single write lock. Ingest answers WorkTool only
after its batch is committed, within WorkTool's ~3 s, and WorkTool never re-sends a callback; a worker
transaction that held the lock for a second (50 messages of a backlog at ~9 ms each) made ingest give up
and answer a whole batch 503. So the worker's transactions go through `write_transaction()`:

- it takes the lock up front (a deferred transaction that reads first and writes later fails at once,
  without waiting, whenever another process committed in between — SQLite's BUSY_SNAPSHOT);
- `WriteTransaction.spent()` tells a loop to commit what it has after `HOLD_BUDGET_S`, or at once when
  ingest is waiting for the lock;
- before taking the lock it waits (at most `YIELD_MAX_S`) while ingest is waiting;
- every hold is measured: one over `HOLD_WARN_S` is logged, and a summary (count, p50, p99, max per kind
  of transaction) every `SUMMARY_EVERY_S`.

Ingest says it is waiting through `IngestSignal`, a flag in a small shared-memory file next to the
database (`<db>-ingest`): ingest raises it when it finds the lock taken, lowers it once it has the lock.
"""

from __future__ import annotations

import asyncio
import math
import mmap
import os
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.transactions import in_transaction

from bot.db import connection

log = structlog.get_logger(__name__)

HOLD_BUDGET_S: Final = 0.025  # add no more work to a transaction after this (one more message may follow)
HOLD_WARN_S: Final = 0.05
YIELD_MAX_S: Final = 0.5  # ingest retries within its back-off (<= 0.5 s): it has the lock by then
YIELD_POLL_S: Final = 0.002
STALE_S: Final = 1.0  # a flag this old was left by an ingest process that died waiting
SUMMARY_EVERY_S: Final = 10.0
# The first statement writes (nothing): the transaction starts as a write transaction, waiting for the lock
# under the busy timeout, like BEGIN IMMEDIATE (which tortoise cannot issue).
TAKE_LOCK_SQL: Final = "UPDATE conversations SET id = id WHERE 0"
_FLAG: Final = struct.Struct("d")


class IngestSignal:
    """A flag shared by the processes on one SQLite database: since when ingest has waited for the lock
    (`time.monotonic()`, system-wide on Linux), or 0. Several ingest processes share one flag: one that
    lowers it while another still waits makes the worker go ahead once more, no worse than no flag."""

    def __init__(self, db_path: str) -> None:
        self.path = os.path.realpath(db_path) + "-ingest"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _FLAG.size:
                os.ftruncate(fd, _FLAG.size)
            self._map = mmap.mmap(fd, _FLAG.size)
        finally:
            os.close(fd)

    def raise_flag(self) -> None:
        _FLAG.pack_into(self._map, 0, time.monotonic())

    def lower_flag(self) -> None:
        _FLAG.pack_into(self._map, 0, 0.0)

    def waiting(self) -> bool:
        (since,) = _FLAG.unpack_from(self._map, 0)
        return bool(since > 0 and time.monotonic() - since < STALE_S)

    def close(self) -> None:
        self._map.close()


_signals: dict[str, IngestSignal] = {}  # one mapping per database file and process


def _signal_of(client: BaseDBAsyncClient) -> IngestSignal | None:
    if not isinstance(client, SqliteClient) or client.filename in ("", ":memory:"):
        return None
    signal = _signals.get(client.filename)
    if signal is None:
        signal = _signals[client.filename] = IngestSignal(client.filename)
    return signal


async def yield_to_ingest(signal: IngestSignal | None) -> float:
    """Wait while ingest waits for the lock (bounded); returns the seconds waited."""
    if signal is None or not signal.waiting():
        return 0.0
    started = time.monotonic()
    while signal.waiting() and time.monotonic() - started < YIELD_MAX_S:  # noqa: ASYNC110 - set by another process
        await asyncio.sleep(YIELD_POLL_S)
    return time.monotonic() - started


@dataclass
class WriteTransaction:
    conn: BaseDBAsyncClient
    started: float  # perf_counter() when the lock was taken
    budget_s: float
    signal: IngestSignal | None

    def held_s(self) -> float:
        return time.perf_counter() - self.started

    def spent(self) -> bool:
        """Commit now: the budget is used up, or ingest is waiting for the lock."""
        return self.held_s() >= self.budget_s or (self.signal is not None and self.signal.waiting())


class HoldTimes:
    """How long write transactions held the lock, summarised per kind every `every_s` seconds."""

    def __init__(self, every_s: float = SUMMARY_EVERY_S) -> None:
        self.every_s = every_s
        self._since = time.monotonic()
        self._held: dict[str, list[float]] = {}

    def add(self, what: str, held_s: float) -> None:
        self._held.setdefault(what, []).append(held_s)
        if time.monotonic() - self._since >= self.every_s:
            self.report()

    def report(self) -> None:
        for what, held in sorted(self._held.items()):
            ordered = sorted(held)
            log.info(
                "write lock holds",
                what=what,
                n=len(ordered),
                p50_ms=round(_pct(ordered, 0.5) * 1000, 1),
                p99_ms=round(_pct(ordered, 0.99) * 1000, 1),
                max_ms=round(ordered[-1] * 1000, 1),
            )
        self._held.clear()
        self._since = time.monotonic()


def _pct(ordered: list[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


hold_times = HoldTimes()


@asynccontextmanager
async def write_transaction(
    what: str, *, budget_s: float | None = None, **ids: object
) -> AsyncIterator[WriteTransaction]:
    """A transaction that writes, holding SQLite's write lock as briefly as the caller's loop allows.

    `what` names the kind of transaction in the logs; `ids` (conversation, task, alert) go with a warning;
    `budget_s` (default `HOLD_BUDGET_S`) is when `spent()` says to commit.
    Inside another transaction it is a savepoint of that one: no waiting for ingest while holding the lock.
    """
    client = connection()
    nested = isinstance(client, TransactionalDBClient)
    signal = None if nested else _signal_of(client)
    await yield_to_ingest(signal)
    tx: WriteTransaction | None = None
    try:
        async with in_transaction() as conn:
            if isinstance(client, SqliteClient) and not nested:
                await conn.execute_query(TAKE_LOCK_SQL)
            budget = HOLD_BUDGET_S if budget_s is None else budget_s
            tx = WriteTransaction(conn, time.perf_counter(), budget, signal)
            yield tx
    finally:
        if tx is not None:  # held until here: the commit or rollback included
            held = tx.held_s()
            hold_times.add(what, held)
            if held > HOLD_WARN_S:
                log.warning(
                    "a write transaction held the database lock long", what=what, ms=round(held * 1000, 1), **ids
                )
