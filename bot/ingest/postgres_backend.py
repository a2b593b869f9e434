"""Ingest on PostgreSQL: the batch's statements in one transaction on tortoise's asyncpg pool.

A transaction-scoped advisory lock serialises the dedup decision between ingest processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.data import JSON_DUMPS
from tortoise.transactions import in_transaction

from bot.ingest.conversations import ConversationCache
from bot.ingest.dedup import Candidate
from bot.ingest.incoming import Incoming
from bot.ingest.plan import BatchPlan, plan_batch
from bot.ingest.sql import Statements
from models.messages import ProcessingState

# Any fixed 64-bit number.
INGEST_LOCK_KEY: Final = 0x57_4B_48_55_42_01


class PostgresIngestBackend:
    def __init__(self, window: timedelta) -> None:
        self._window = window
        self._sql = Statements(postgres=True)
        self._conversations = ConversationCache()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def commit(self, batch: Sequence[Incoming]) -> BatchPlan:
        try:
            async with in_transaction() as conn:
                await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [INGEST_LOCK_KEY])
                await self._resolve_conversations(conn, batch)
                candidates = await self._candidates(conn, batch)
                _, rows = await conn.execute_query(
                    "SELECT nextval(pg_get_serial_sequence('inbound_messages', 'id')) AS id "
                    "FROM generate_series(1, $1)",
                    [len(batch)],
                )
                ids = iter(sorted(int(row["id"]) for row in rows))
                plan = plan_batch(batch, self._conversations.ids, candidates, ids, self._window)
                await self._write(conn, plan, batch)
        except BaseException:
            self._conversations.clear()
            raise
        return plan

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

    async def _candidates(self, conn: BaseDBAsyncClient, batch: Sequence[Incoming]) -> dict[int, Candidate]:
        sql = self._sql
        hashes = sorted({i.content_hash for i in batch})
        ext_ids = sorted({i.external_id for i in batch if i.external_id})
        since = min(i.received_at for i in batch) - self._window
        _, rows = await conn.execute_query(sql.recent_by_hash(len(hashes)), [*hashes, since])
        rows = list(rows)
        if ext_ids:
            _, by_ext = await conn.execute_query(sql.by_external_id(len(ext_ids)), ext_ids)
            rows += by_ext
        found: dict[int, Candidate] = {}
        for row in rows:
            found.setdefault(row["id"], Candidate(row["id"], row["content_hash"], row["received_at"]))
        if found:
            _, sightings = await conn.execute_query(sql.sightings_of(len(found)), list(found))
            for row in sightings:
                found[row["message_id"]].sightings[row["robot_id"]] = row["external_id"]
        return found

    async def _write(self, conn: BaseDBAsyncClient, plan: BatchPlan, batch: Sequence[Incoming]) -> None:
        sql = self._sql
        pending = ProcessingState.PENDING.value
        if plan.new:
            await conn.execute_many(
                sql.insert_message,
                [
                    [
                        m.id,
                        m.conversation_id,
                        m.incoming.sender,
                        m.incoming.text,
                        m.incoming.raw_text,
                        m.incoming.text_type,
                        m.incoming.conversation.room_type,
                        m.incoming.at_me,
                        m.incoming.content_hash,
                        m.incoming.received_at,
                        JSON_DUMPS(m.incoming.payload),
                        m.incoming.file_base64,
                        pending,
                        0,
                    ]
                    for m in plan.new
                ],
            )
        if plan.sightings:
            await conn.execute_many(
                sql.insert_sighting,
                [[mid, i.robot_id, i.external_id, i.at_me, i.received_at] for mid, i in plan.sightings],
            )
        if plan.attach:
            await conn.execute_many(sql.attach_external_id, [[ext, mid, robot] for mid, robot, ext in plan.attach])
        if plan.fresh:
            conv_ids = sorted(plan.fresh)
            newest = max(i.received_at for i in batch)
            await conn.execute_query(sql.touch_conversations(len(conv_ids)), [newest, *conv_ids])
