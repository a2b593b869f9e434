"""Ingest on SQLite: a dedicated connection and thread; a whole batch is one hop to that thread.

Every statement through aiosqlite is a round trip to its thread and back through the event loop; a batch
took eight of them and the ack waited on each. Here the batch runs start to finish in the ingest thread,
under `BEGIN IMMEDIATE` (SQLite's write lock, so another process writing at the same time waits instead
of interleaving with the dedup decision). Values are encoded as tortoise encodes them.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from tortoise.fields.data import JSON_DUMPS

from bot.ingest.conversations import ConversationCache
from bot.ingest.dedup import Candidate
from bot.ingest.incoming import Incoming
from bot.ingest.plan import BatchPlan, plan_batch
from bot.ingest.sql import Statements
from models.messages import ProcessingState


def _ts(value: datetime) -> str:
    return value.isoformat(" ")  # the form tortoise stores in SQLite


class SqliteIngestBackend:
    def __init__(self, path: str, window: timedelta, busy_timeout_ms: int = 5000) -> None:
        self._path = path
        self._window = window
        self._busy_timeout_ms = busy_timeout_ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._sql = Statements(postgres=False)
        self._conversations = ConversationCache()

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open_sync)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_sync)
        self._executor.shutdown(wait=True)

    async def commit(self, batch: Sequence[Incoming]) -> BatchPlan:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._commit_sync, batch)

    def _open_sync(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={self._busy_timeout_ms}"):
            conn.execute(f"PRAGMA {pragma}")
        self._conn = conn

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _commit_sync(self, batch: Sequence[Incoming]) -> BatchPlan:
        if self._conn is None:
            raise RuntimeError("the SQLite ingest backend is not open")
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            self._resolve_conversations(cur, batch)
            candidates = self._candidates(cur, batch)
            top = int(cur.execute("SELECT COALESCE(MAX(id), 0) FROM inbound_messages").fetchone()[0])
            plan = plan_batch(batch, self._conversations.ids, candidates, itertools.count(top + 1), self._window)
            self._write(cur, plan, batch)
            cur.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                cur.execute("ROLLBACK")
            self._conversations.clear()
            raise
        return plan

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

    def _candidates(self, cur: sqlite3.Cursor, batch: Sequence[Incoming]) -> dict[int, Candidate]:
        sql = self._sql
        hashes = sorted({i.content_hash for i in batch})
        ext_ids = sorted({i.external_id for i in batch if i.external_id})
        since = min(i.received_at for i in batch) - self._window
        found: dict[int, Candidate] = {}
        rows: list[Any] = cur.execute(sql.recent_by_hash(len(hashes)), (*hashes, _ts(since))).fetchall()
        if ext_ids:
            rows += cur.execute(sql.by_external_id(len(ext_ids)), ext_ids).fetchall()
        for mid, content_hash, received_at in rows:
            found.setdefault(mid, Candidate(mid, content_hash, datetime.fromisoformat(received_at)))
        if found:
            for mid, robot, ext in cur.execute(sql.sightings_of(len(found)), list(found)).fetchall():
                found[mid].sightings[robot] = ext
        return found

    def _write(self, cur: sqlite3.Cursor, plan: BatchPlan, batch: Sequence[Incoming]) -> None:
        sql = self._sql
        pending = ProcessingState.PENDING.value
        cur.executemany(
            sql.insert_message,
            [
                (
                    m.id,
                    m.conversation_id,
                    m.incoming.sender,
                    m.incoming.text,
                    m.incoming.raw_text,
                    m.incoming.text_type,
                    m.incoming.conversation.room_type,
                    int(m.incoming.at_me),
                    m.incoming.content_hash,
                    _ts(m.incoming.received_at),
                    JSON_DUMPS(m.incoming.payload),
                    m.incoming.file_base64,
                    pending,
                    0,
                )
                for m in plan.new
            ],
        )
        cur.executemany(
            sql.insert_sighting,
            [(mid, i.robot_id, i.external_id, int(i.at_me), _ts(i.received_at)) for mid, i in plan.sightings],
        )
        if plan.attach:
            cur.executemany(sql.attach_external_id, [(ext, mid, robot) for mid, robot, ext in plan.attach])
        if plan.fresh:
            conv_ids = sorted(plan.fresh)
            newest = max(i.received_at for i in batch)
            cur.execute(sql.touch_conversations(len(conv_ids)), (_ts(newest), *conv_ids))
