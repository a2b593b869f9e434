"""Ingest on PostgreSQL: each batch in one transaction of four round trips on a connection of its own.

A transaction-scoped advisory lock serialises ingest between processes; under it the batch first
mirrors what other processes committed (bot/ingest/recent.py), then decides and writes.

Profiled under scripts/bench_ingest.py (pg_stat_statements, py-spy): the statements themselves took
~0.1 ms of the database's time per batch, yet a batch took 15-30 ms, because it was eleven round trips
(pool acquire and its RESET ALL, BEGIN, the lock, two mirror reads, nextval, one INSERT per table, the
presence upsert, COMMIT) and on a busy server each await waits for every ready HTTP handler before the
writer runs again. So the batch is now: `BEGIN; lock` as one simple query; the mirror reads and the new
ids as one statement; every insert as one statement (arrays unnested, data-modifying CTEs); COMMIT.
New conversations, renames and re-deliveries that bring a missing messageId cost a round trip more.
The connection is not tortoise's pool: a pooled connection is reset (a round trip) at every release.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped]
from tortoise.backends.base.config_generator import expand_db_url

from bot.ingest.conversations import ConversationCache
from bot.ingest.failures import is_data_error
from bot.ingest.incoming import Incoming
from bot.ingest.plan import BatchPlan, plan_batch
from bot.ingest.recent import MessageRow, RecentMessages, SightingRow
from bot.ingest.sql import LAST_MESSAGE_ID, LAST_SIGHTING_ID, PENDING, WARM_ROWS, Statements

CONNECT_TIMEOUT_S: Final = 1.0
# Any fixed 64-bit number.
INGEST_LOCK_KEY: Final = 0x57_4B_48_55_42_01
# The lock before the statement that reads: a statement's snapshot is taken when it starts, so rows
# another process commits while this one waits for the lock must be read by a later statement.
BEGIN_LOCKED: Final = f"BEGIN; SELECT pg_advisory_xact_lock({INGEST_LOCK_KEY})"
# What other processes committed since the marks, and fresh message ids, in one statement (k: 1 message,
# 2 sighting, 3 new id). Rows are sorted in Python. The upper bounds are there for the planner: without
# statistics (a table that grew since autovacuum last analysed it) `id > $1` alone is guessed to match a
# third of the table, and the prepared statement's plan was a sequential scan, which made every batch
# slower than the last (a cause of the rounds falling 1,430 -> 755 -> 599/s); a range keeps it on the
# primary key. No batch follows the previous one by a billion ids.
SYNC: Final = (
    "SELECT 1 AS k, id, content_hash, received_at, robot_id, external_id, NULL::bigint AS message_id "
    "FROM inbound_messages WHERE id > $1 AND id < $1 + 1000000000 "
    "UNION ALL SELECT 2, id, NULL, NULL, robot_id, external_id, message_id FROM message_sightings "
    "WHERE id > $2 AND id < $2 + 1000000000 "
    "UNION ALL SELECT 3, nextval($4::regclass), NULL, NULL, NULL, NULL, NULL FROM generate_series(1, $3)"
)
# Every row of a batch in one statement. A sighting may name a message inserted by the sibling CTE: the
# foreign key is checked at the end of the statement, when that row exists.
WRITE: Final = """
WITH m AS (
    INSERT INTO inbound_messages (id, conversation_id, robot_id, external_id, sender_name, text, raw_text,
        text_type, room_type, at_me, content_hash, received_at, payload, file_base64, state, attempts)
    SELECT id, conv, robot, ext, sender, text, raw, ttype, rtype, at_me, hash, at, payload::jsonb, file,
        $23, 0
    FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::int[], $9::smallint[], $10::bool[], $11::text[], $12::timestamptz[], $13::text[], $14::text[])
        AS t(id, conv, robot, ext, sender, text, raw, ttype, rtype, at_me, hash, at, payload, file)
    RETURNING 1
), s AS (
    INSERT INTO message_sightings (message_id, robot_id, external_id, at_me, received_at)
    SELECT * FROM unnest($15::bigint[], $16::text[], $17::text[], $18::bool[], $19::timestamptz[])
    RETURNING 1
), p AS (
    INSERT INTO conversation_robots (conversation_id, robot_id, first_seen_at)
    SELECT * FROM unnest($20::bigint[], $21::text[], $22::timestamptz[])
    ON CONFLICT (conversation_id, robot_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM m) AS messages, (SELECT count(*) FROM s) AS sightings
"""
FIND_CONVERSATIONS: Final = (
    "SELECT c.kind, c.key, c.id, c.name FROM conversations c "
    "JOIN unnest($1::text[], $2::text[]) AS w(kind, key) ON c.kind = w.kind AND c.key = w.key"
)
FIND_ALIASES: Final = (
    "SELECT a.kind, a.key, a.conversation_id AS id, c.name FROM conversation_aliases a "
    "JOIN conversations c ON c.id = a.conversation_id "
    "JOIN unnest($1::text[], $2::text[]) AS w(kind, key) ON a.kind = w.kind AND a.key = w.key"
)


def _message_row(row: Any) -> MessageRow:
    return MessageRow(row["id"], row["content_hash"], row["received_at"], row["robot_id"], row["external_id"])


def connect_kwargs(database_url: str) -> dict[str, Any]:
    """asyncpg's connection arguments for the hub's database URL (tortoise's form, `?maxsize=` and all)."""
    if database_url.startswith("postgresql://"):
        database_url = "postgres://" + database_url.removeprefix("postgresql://")
    creds = expand_db_url(database_url)["credentials"]
    kwargs = {k: creds[k] for k in ("host", "port", "user", "password", "database", "ssl") if k in creds}
    # A connection attempt is bounded like a commit: WorkTool waits 3 s for the answer (bot/ingest/writer.py).
    return {**kwargs, "statement_cache_size": 32, "timeout": CONNECT_TIMEOUT_S}


class PostgresIngestBackend:
    def __init__(self, database_url: str, recent: RecentMessages) -> None:
        self._connect = connect_kwargs(database_url)
        self._recent = recent
        self._sql = Statements(postgres=True)
        self._conversations = ConversationCache()
        self._present: set[tuple[int, str]] = set()  # (conversation, robot) pairs known to be stored
        self._conn: asyncpg.Connection | None = None
        self._sequence = ""

    async def open(self) -> None:
        return None  # connected at the first batch, so an unreachable database is retried like any outage

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close(timeout=5)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                conn.terminate()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            conn = await asyncpg.connect(**self._connect)
            try:
                self._sequence = str(await conn.fetchval("SELECT pg_get_serial_sequence('inbound_messages', 'id')"))
            except BaseException:
                conn.terminate()
                raise
            self._conn = conn
        return self._conn

    async def commit(self, batch: Sequence[Incoming]) -> BatchPlan:
        now = max(i.received_at for i in batch)
        conn = await self._connection()
        try:
            await conn.execute(BEGIN_LOCKED)
            ids = await self._sync_recent(conn, now, len(batch))
            await self._resolve_conversations(conn, batch)
            candidates = self._recent.candidates(batch)
            plan = plan_batch(batch, self._conversations.ids, candidates, iter(ids), self._recent.window)
            presence = plan.new_presence(self._present)
            await self._write(conn, plan, presence)
            await conn.execute("COMMIT")
        except BaseException as exc:
            await self._abandon(conn, exc)
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

    async def _abandon(self, conn: asyncpg.Connection, exc: BaseException) -> None:
        """Roll back; a connection that cannot, or whose state is unknown, is dropped (the next batch
        connects again)."""
        if not conn.is_closed() and not isinstance(exc, asyncio.CancelledError):
            if not conn.is_in_transaction():
                return
            try:
                await conn.execute("ROLLBACK")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                pass
            else:
                return
        conn.terminate()
        self._conn = None

    async def _sync_recent(self, conn: asyncpg.Connection, now: datetime, count: int) -> list[int]:
        """Mirror what other processes committed; `count` fresh message ids in increasing order."""
        recent = self._recent
        if not recent.loaded:
            await self._load_recent(conn, now)
        rows = await conn.fetch(SYNC, recent.last_message_id, recent.last_sighting_id, count, self._sequence)
        messages = sorted((r for r in rows if r["k"] == 1), key=lambda r: r["id"])
        sightings = sorted((r for r in rows if r["k"] == 2), key=lambda r: r["id"])
        if messages or sightings:
            recent.load(
                (_message_row(r) for r in messages),
                (SightingRow(s["id"], s["message_id"], s["robot_id"], s["external_id"]) for s in sightings),
            )
        return sorted(int(r["id"]) for r in rows if r["k"] == 3)

    async def _load_recent(self, conn: asyncpg.Connection, now: datetime) -> None:
        """A fresh process: the newest rows within the horizon (once)."""
        recent, sql = self._recent, self._sql
        top = int(await conn.fetchval(LAST_MESSAGE_ID))
        since = now - recent.horizon
        rows = await conn.fetch(sql.messages_after, max(top - WARM_ROWS, 0))
        messages = [_message_row(r) for r in rows if r["received_at"] >= since]
        first = messages[0].id - 1 if messages else top
        sightings = await conn.fetch(sql.sightings_of_messages_after, first)
        recent.load(
            messages, (SightingRow(s["id"], s["message_id"], s["robot_id"], s["external_id"]) for s in sightings)
        )
        recent.last_message_id = top
        recent.last_sighting_id = int(await conn.fetchval(LAST_SIGHTING_ID))

    async def _resolve_conversations(self, conn: asyncpg.Connection, batch: Sequence[Incoming]) -> None:
        sql = self._sql
        missing = self._conversations.missing(batch)
        if missing:
            kinds, keys = [ref.kind for ref, _ in missing], [ref.key for ref, _ in missing]
            found = {(r["kind"], r["key"]): r for r in await conn.fetch(FIND_CONVERSATIONS, kinds, keys)}
            rest = [(ref, at) for ref, at in missing if (ref.kind, ref.key) not in found]
            if rest:
                kinds, keys = [ref.kind for ref, _ in rest], [ref.key for ref, _ in rest]
                found |= {(r["kind"], r["key"]): r for r in await conn.fetch(FIND_ALIASES, kinds, keys)}
            for ref, at in missing:
                if (row := found.get((ref.kind, ref.key))) is not None:
                    self._conversations.remember(ref, int(row["id"]), str(row["name"]))
                    continue
                name = ref.name or ref.key
                conv_id = int(await conn.fetchval(sql.insert_conversation, ref.kind, ref.key, name, ref.room_type, at))
                await conn.execute(sql.record_name, conv_id, name, at)
                self._conversations.remember(ref, conv_id, name)
        for rename in self._conversations.renames(batch):
            await conn.execute(sql.rename_conversation, rename.name, rename.conversation_id)
            await conn.execute(sql.record_name, rename.conversation_id, rename.name, rename.at)

    async def _write(
        self, conn: asyncpg.Connection, plan: BatchPlan, presence: list[tuple[int, str, datetime]]
    ) -> None:
        new = [(m.id, m.conversation_id, m.incoming) for m in plan.new]
        sightings = plan.sightings
        if new or sightings or presence:
            await conn.execute(
                WRITE,
                [m for m, _, _ in new],
                [c for _, c, _ in new],
                [i.robot_id for _, _, i in new],
                [i.external_id for _, _, i in new],
                [i.sender for _, _, i in new],
                [i.text for _, _, i in new],
                [i.raw_text for _, _, i in new],
                [i.text_type for _, _, i in new],
                [i.conversation.room_type for _, _, i in new],
                [mid in plan.at_me or i.at_me for mid, _, i in new],
                [i.content_hash for _, _, i in new],
                [i.received_at for _, _, i in new],
                [i.payload_json for _, _, i in new],
                [i.file_base64 for _, _, i in new],
                [mid for mid, _ in sightings],
                [i.robot_id for _, i in sightings],
                [i.external_id for _, i in sightings],
                [i.at_me for _, i in sightings],
                [i.received_at for _, i in sightings],
                [c for c, _, _ in presence],
                [r for _, r, _ in presence],
                [at for _, _, at in presence],
                PENDING,
            )
        # After the inserts, in a statement of their own: a CTE's UPDATE cannot see rows its siblings insert.
        if stored_at_me := plan.stored_at_me():
            await conn.execute(self._sql.mark_at_me_any, stored_at_me)
        for mid, robot, ext, on_message in plan.attach:
            statement = self._sql.attach_external_id_to_message if on_message else self._sql.attach_external_id
            await conn.execute(statement, ext, mid, robot)
