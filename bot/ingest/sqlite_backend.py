"""Ingest on SQLite: a dedicated connection; each batch is one short synchronous transaction.

Measured under wrk (scripts/bench_ingest.py): through aiosqlite every statement was a round trip to its
thread and back, and on a thread of our own each statement and executemany row re-took the GIL, which a
busy event loop hands over only every switch interval (5 ms). Run inline, a batch of 20 takes ~0.5 ms
of event-loop time, less than the hand-offs did. Two things keep the loop from ever stalling: a short
busy timeout (another process holding the write lock makes the batch fail fast and the writer retries
it after an async back-off) and WAL checkpoints (which fsync) moved off the commit path to a
background thread. `BEGIN IMMEDIATE` takes SQLite's write lock, so the dedup decision cannot interleave
with another process's writes. Values are encoded as tortoise encodes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Final

import structlog

from bot.db import is_write_contention
from bot.ingest.conversations import ConversationCache
from bot.ingest.failures import is_data_error
from bot.ingest.incoming import Incoming
from bot.ingest.plan import BatchPlan, plan_batch
from bot.ingest.recent import MessageRow, RecentMessages, SightingRow
from bot.ingest.sql import LAST_MESSAGE_ID, LAST_SIGHTING_ID, WARM_ROWS, Statements, message_values
from bot.write_lock import IngestSignal

log = structlog.get_logger(__name__)
BUSY_TIMEOUT_MS: Final = 20
CHECKPOINT_INTERVAL_S: Final = 1.0
SLOW_BATCH_MS: Final = 20.0


def _ts(value: datetime) -> str:
    return value.isoformat(" ")  # the form tortoise stores in SQLite


class SqliteIngestBackend:
    def __init__(self, path: str, recent: RecentMessages) -> None:
        self._path = path
        self._recent = recent
        self._conn: sqlite3.Connection | None = None
        self._sql = Statements(postgres=False)
        self._conversations = ConversationCache()
        self._checkpointer: asyncio.Task[None] | None = None
        self._present: set[tuple[int, str]] = set()  # (conversation, robot) pairs known to be stored
        self._data_version = -1
        self._signal: IngestSignal | None = None  # made on the first wait for the lock

    async def open(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=OFF",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            "wal_autocheckpoint=0",
        ):
            conn.execute(f"PRAGMA {pragma}")
        self._conn = conn
        self._checkpointer = asyncio.get_running_loop().create_task(self._checkpoint_forever(), name="wal-checkpoint")

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def commit(self, batch: Sequence[Incoming]) -> BatchPlan:
        return self._commit_sync(batch)

    async def _checkpoint_forever(self) -> None:
        # Its own connection on its own thread: closing a connection that another thread is still using
        # crashes SQLite (the server once died with SIGSEGV at shutdown doing exactly that).
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-checkpoint")
        conn = await loop.run_in_executor(executor, partial(sqlite3.connect, self._path, isolation_level=None))
        try:
            while True:
                await asyncio.sleep(CHECKPOINT_INTERVAL_S)
                try:
                    await loop.run_in_executor(executor, conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint failed; will retry", error=str(exc))
        finally:
            executor.submit(conn.close)  # queued behind any checkpoint still running on that thread
            executor.shutdown(wait=True)

    def _commit_sync(self, batch: Sequence[Incoming]) -> BatchPlan:
        if self._conn is None:
            raise RuntimeError("the SQLite ingest backend is not open")
        cur = self._conn.cursor()
        now = max(i.received_at for i in batch)
        started = time.perf_counter()
        timings: dict[str, float] = {}

        def mark(step: str) -> None:
            timings[step] = round((time.perf_counter() - started) * 1000, 2)

        self._begin(cur)
        try:
            mark("begin")
            self._sync_recent(cur, now)
            mark("sync")
            self._resolve_conversations(cur, batch)
            candidates = self._recent.candidates(batch)
            top = self._recent.last_message_id
            plan = plan_batch(batch, self._conversations.ids, candidates, itertools.count(top + 1), self._recent.window)
            mark("plan")
            self._write(cur, plan)
            presence = plan.new_presence(self._present)
            if presence:
                cur.executemany(self._sql.record_presence, [(c, r, _ts(at)) for c, r, at in presence])
            mark("write")
            cur.execute("COMMIT")
            mark("commit")
        except BaseException as exc:
            if self._conn.in_transaction:
                cur.execute("ROLLBACK")
            self._conversations.clear()  # ids created in the rolled-back transaction are void
            if not is_data_error(exc):  # a refused value (the writer splits the batch) leaves the mirror true
                self._recent.reset()  # rebuild from the database: cheap to be sure after an outage
            raise
        self._present.update((c, r) for c, r, _ in presence)
        # Under the write lock sighting ids are consecutive; a gap only makes the next sync re-read some.
        last_sighting = self._recent.last_sighting_id + len(plan.sightings)
        self._recent.committed(candidates, plan.new[-1].id if plan.new else top, last_sighting)
        self._recent.evict(now)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if elapsed_ms > SLOW_BATCH_MS:
            log.warning("slow ingest batch", size=len(batch), ms=round(elapsed_ms, 1), timings=timings)
        return plan

    def _begin(self, cur: sqlite3.Cursor) -> None:
        """BEGIN IMMEDIATE. If another process holds the write lock, raise the flag that makes the worker
        commit what it has and wait (bot/write_lock.py) before waiting the busy timeout for it."""
        cur.execute("PRAGMA busy_timeout=0")
        try:
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not is_write_contention(exc):
                raise
            if self._signal is None:
                self._signal = IngestSignal(self._path)
            self._signal.raise_flag()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("BEGIN IMMEDIATE")  # a failure leaves the flag up: the worker yields until the retry
        finally:
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if self._signal is not None and self._signal.waiting():
            self._signal.lower_flag()

    def _sync_recent(self, cur: sqlite3.Cursor, now: datetime) -> None:
        """Mirror what other writers committed since our last batch (or everything recent, at start)."""
        recent = self._recent
        # data_version changes only when another connection commits: skip the two reads when none did.
        version = int(cur.execute("PRAGMA data_version").fetchone()[0])
        if recent.loaded and version == self._data_version:
            return
        self._data_version = version
        if not recent.loaded:
            top = int(cur.execute(LAST_MESSAGE_ID).fetchone()[0])
            since = now - recent.horizon
            rows = [
                row
                for mid, h, at, robot, ext in cur.execute(
                    self._sql.messages_after, (max(top - WARM_ROWS, 0),)
                ).fetchall()
                if (row := MessageRow(mid, h, datetime.fromisoformat(at), robot, ext)).received_at >= since
            ]
            first = rows[0].id - 1 if rows else top
            sightings = cur.execute(self._sql.sightings_of_messages_after, (first,)).fetchall()
            recent.load(rows, (SightingRow(*s) for s in sightings))
            recent.last_message_id = top
            recent.last_sighting_id = int(cur.execute(LAST_SIGHTING_ID).fetchone()[0])
            return
        fresh = cur.execute(self._sql.messages_after, (recent.last_message_id,)).fetchall()
        sightings = cur.execute(self._sql.sightings_after, (recent.last_sighting_id,)).fetchall()
        if fresh or sightings:
            recent.load(
                (MessageRow(mid, h, datetime.fromisoformat(at), robot, ext) for mid, h, at, robot, ext in fresh),
                (SightingRow(*s) for s in sightings),
            )

    def _resolve_conversations(self, cur: sqlite3.Cursor, batch: Sequence[Incoming]) -> None:
        sql = self._sql
        for ref, at in self._conversations.missing(batch):
            row = cur.execute(sql.find_conversation, (ref.kind, ref.key)).fetchone()
            if row is not None:
                self._conversations.remember(ref, int(row[0]), str(row[1]))
                continue
            alias = cur.execute(sql.find_alias, (ref.kind, ref.key)).fetchone()
            if alias is not None:
                name = cur.execute("SELECT name FROM conversations WHERE id = ?", (alias[0],)).fetchone()[0]
                self._conversations.remember(ref, int(alias[0]), str(name))
                continue
            name = ref.name or ref.key
            cur.execute(sql.insert_conversation, (ref.kind, ref.key, name, ref.room_type, _ts(at)))
            conv_id = int(cur.lastrowid or 0)
            cur.execute(sql.record_name, (conv_id, name, _ts(at)))
            self._conversations.remember(ref, conv_id, name)
        for rename in self._conversations.renames(batch):
            cur.execute(sql.rename_conversation, (rename.name, rename.conversation_id))
            cur.execute(sql.record_name, (rename.conversation_id, rename.name, _ts(rename.at)))

    def _write(self, cur: sqlite3.Cursor, plan: BatchPlan) -> None:
        sql = self._sql
        rows = [message_values(m, _ts(m.incoming.received_at), int(plan.is_at_me(m))) for m in plan.new]
        cur.executemany(sql.insert_message, rows)
        cur.executemany(sql.mark_at_me, [(mid,) for mid in plan.stored_at_me()])
        if plan.sightings:
            cur.executemany(
                sql.insert_sighting,
                [(mid, i.robot_id, i.external_id, int(i.at_me), _ts(i.received_at)) for mid, i in plan.sightings],
            )
        for mid, robot, ext, on_message in plan.attach:
            statement = sql.attach_external_id_to_message if on_message else sql.attach_external_id
            cur.execute(statement, (ext, mid, robot))
