"""Ingest on PostgreSQL: the batch's statements in one transaction on tortoise's asyncpg pool.

A transaction-scoped advisory lock serialises ingest between processes; under it the batch first
mirrors what other processes committed (bot/ingest/recent.py), then decides and writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from bot.ingest.conversations import ConversationCache
from bot.ingest.failures import is_data_error
from bot.ingest.incoming import Incoming
from bot.ingest.plan import BatchPlan, plan_batch
from bot.ingest.recent import MessageRow, RecentMessages, SightingRow
from bot.ingest.sql import LAST_MESSAGE_ID, LAST_SIGHTING_ID, WARM_ROWS, Statements, message_values

# Any fixed 64-bit number.
INGEST_LOCK_KEY: Final = 0x57_4B_48_55_42_01


def _message_row(row: Any) -> MessageRow:
    return MessageRow(row["id"], row["content_hash"], row["received_at"], row["robot_id"], row["external_id"])


class PostgresIngestBackend:
    def __init__(self, recent: RecentMessages) -> None:
        self._recent = recent
        self._sql = Statements(postgres=True)
        self._conversations = ConversationCache()
        self._present: set[tuple[int, str]] = set()  # (conversation, robot) pairs known to be stored

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def commit(self, batch: Sequence[Incoming]) -> BatchPlan:
        now = max(i.received_at for i in batch)
        try:
            async with in_transaction() as conn:
                await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [INGEST_LOCK_KEY])
                await self._sync_recent(conn, now)
                await self._resolve_conversations(conn, batch)
                candidates = self._recent.candidates(batch)
                _, rows = await conn.execute_query(
                    "SELECT nextval(pg_get_serial_sequence('inbound_messages', 'id')) AS id "
                    "FROM generate_series(1, $1)",
                    [len(batch)],
                )
                ids = sorted(int(row["id"]) for row in rows)
                plan = plan_batch(batch, self._conversations.ids, candidates, iter(ids), self._recent.window)
                await self._write(conn, plan)
                presence = plan.new_presence(self._present)
                if presence:
                    await conn.execute_many(self._sql.record_presence, [list(p) for p in presence])
        except BaseException as exc:
            self._conversations.clear()  # ids created in the rolled-back transaction are void
            # plan_batch changed only copies of mirrored rows: a refused value (the writer splits the batch)
            # leaves the mirror true; after anything else rebuild it from the database to be sure.
            if not is_data_error(exc):
                self._recent.reset()
            raise
        self._present.update((c, r) for c, r, _ in presence)
        # Under the advisory lock sighting ids are consecutive; a gap only makes the next sync re-read some.
        last_sighting = self._recent.last_sighting_id + len(plan.sightings)
        self._recent.committed(candidates, ids[-1], last_sighting)
        self._recent.evict(now)
        return plan

    async def _sync_recent(self, conn: BaseDBAsyncClient, now: datetime) -> None:
        recent = self._recent
        sql = self._sql
        if not recent.loaded:
            _, top_rows = await conn.execute_query(LAST_MESSAGE_ID)
            top = int(top_rows[0]["top"])
            since = now - recent.horizon
            _, rows = await conn.execute_query(sql.messages_after, [max(top - WARM_ROWS, 0)])
            messages = [_message_row(r) for r in rows if r["received_at"] >= since]
            first = messages[0].id - 1 if messages else top
            _, sightings = await conn.execute_query(sql.sightings_of_messages_after, [first])
            recent.load(
                messages, (SightingRow(s["id"], s["message_id"], s["robot_id"], s["external_id"]) for s in sightings)
            )
            recent.last_message_id = top
            _, last = await conn.execute_query(LAST_SIGHTING_ID)
            recent.last_sighting_id = int(last[0]["top"])
            return
        _, fresh = await conn.execute_query(sql.messages_after, [recent.last_message_id])
        _, sightings = await conn.execute_query(sql.sightings_after, [recent.last_sighting_id])
        if fresh or sightings:
            recent.load(
                (_message_row(r) for r in fresh),
                (SightingRow(s["id"], s["message_id"], s["robot_id"], s["external_id"]) for s in sightings),
            )

    async def _resolve_conversations(self, conn: BaseDBAsyncClient, batch: Sequence[Incoming]) -> None:
        sql = self._sql
        for ref, at in self._conversations.missing(batch):
            _, rows = await conn.execute_query(sql.find_conversation, [ref.kind, ref.key])
            if rows:
                self._conversations.remember(ref, int(rows[0]["id"]), str(rows[0]["name"]))
                continue
            _, rows = await conn.execute_query(sql.find_alias, [ref.kind, ref.key])
            if rows:
                conv_id = int(rows[0]["conversation_id"])
                _, named = await conn.execute_query("SELECT name FROM conversations WHERE id = $1", [conv_id])
                self._conversations.remember(ref, conv_id, str(named[0]["name"]))
                continue
            name = ref.name or ref.key
            # execute_query_dict: tortoise's execute_query drops the RETURNING rows of an INSERT.
            inserted = await conn.execute_query_dict(
                sql.insert_conversation, [ref.kind, ref.key, name, ref.room_type, at]
            )
            conv_id = int(inserted[0]["id"])
            await conn.execute_query(sql.record_name, [conv_id, name, at])
            self._conversations.remember(ref, conv_id, name)
        for rename in self._conversations.renames(batch):
            await conn.execute_query(sql.rename_conversation, [rename.name, rename.conversation_id])
            await conn.execute_query(sql.record_name, [rename.conversation_id, rename.name, rename.at])

    async def _write(self, conn: BaseDBAsyncClient, plan: BatchPlan) -> None:
        sql = self._sql
        if plan.new:
            rows = [list(message_values(m, m.incoming.received_at, m.incoming.at_me)) for m in plan.new]
            await conn.execute_many(sql.insert_message, rows)
        if plan.sightings:
            await conn.execute_many(
                sql.insert_sighting,
                [[mid, i.robot_id, i.external_id, i.at_me, i.received_at] for mid, i in plan.sightings],
            )
        for mid, robot, ext, on_message in plan.attach:
            statement = sql.attach_external_id_to_message if on_message else sql.attach_external_id
            await conn.execute_query(statement, [ext, mid, robot])
