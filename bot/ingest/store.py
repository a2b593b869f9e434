"""The ingest writer's SQL: a few set-based statements per batch instead of ORM calls per message.

Ingest is the hot path (DESIGN §6: at least half a bare aiohttp handler's throughput), so it writes with
`executemany` and allocates message ids itself, in arrival order, inside the batch's transaction. Values
are encoded exactly as tortoise encodes them (datetimes, JSON), so the ORM reads these rows as its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.data import JSON_DUMPS

from bot.ingest.dedup import Candidate
from bot.ingest.incoming import Incoming
from models.messages import ProcessingState

# Any fixed 64-bit number: serialises the dedup decision between ingest processes on PostgreSQL.
INGEST_LOCK_KEY: Final = 0x57_4B_48_55_42_01

_MESSAGE_COLUMNS: Final = (
    "id",
    "conversation_id",
    "sender_name",
    "text",
    "raw_text",
    "text_type",
    "room_type",
    "at_me",
    "content_hash",
    "received_at",
    "payload",
    "file_base64",
    "state",
    "attempts",
)
_SIGHTING_COLUMNS: Final = ("message_id", "robot_id", "external_id", "at_me", "received_at")


@dataclass(frozen=True, slots=True)
class NewMessage:
    id: int
    conversation_id: int
    incoming: Incoming


class IngestStore:
    """Dialect-aware statements for one transaction's connection."""

    def __init__(self, dialect: str, conn: BaseDBAsyncClient) -> None:
        self.postgres = dialect == "postgres"
        self.conn = conn

    def _marks(self, count: int, start: int = 1) -> str:
        if self.postgres:
            return ", ".join(f"${i}" for i in range(start, start + count))
        return ", ".join("?" * count)

    def _time(self, value: datetime | str) -> datetime:
        # SQLite hands datetimes back as the ISO text tortoise stored.
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    async def lock(self) -> None:
        if self.postgres:
            await self.conn.execute_query("SELECT pg_advisory_xact_lock($1)", [INGEST_LOCK_KEY])

    async def candidates(
        self, hashes: Sequence[str], external_ids: Sequence[str], since: datetime
    ) -> dict[int, Candidate]:
        """Recent messages with these content hashes, and messages with these external ids, with sightings."""
        found: dict[int, Candidate] = {}
        if hashes:
            sql = (
                "SELECT id, content_hash, received_at FROM inbound_messages "
                f"WHERE content_hash IN ({self._marks(len(hashes))}) "
                f"AND received_at >= {self._marks(1, len(hashes) + 1)}"
            )
            _, rows = await self.conn.execute_query(sql, [*hashes, since])
            for row in rows:
                found[row["id"]] = Candidate(row["id"], row["content_hash"], self._time(row["received_at"]))
        if external_ids:
            sql = (
                "SELECT m.id, m.content_hash, m.received_at FROM message_sightings s "
                "JOIN inbound_messages m ON m.id = s.message_id "
                f"WHERE s.external_id IN ({self._marks(len(external_ids))})"
            )
            _, rows = await self.conn.execute_query(sql, list(external_ids))
            for row in rows:
                found.setdefault(row["id"], Candidate(row["id"], row["content_hash"], self._time(row["received_at"])))
        if found:
            ids = list(found)
            sql = (
                "SELECT message_id, robot_id, external_id FROM message_sightings "
                f"WHERE message_id IN ({self._marks(len(ids))})"
            )
            _, rows = await self.conn.execute_query(sql, ids)
            for row in rows:
                found[row["message_id"]].sightings[row["robot_id"]] = row["external_id"]
        return found

    async def reserve_ids(self, count: int) -> list[int]:
        """`count` fresh message ids in increasing order (the transaction holds the ingest lock)."""
        if self.postgres:
            _, rows = await self.conn.execute_query(
                "SELECT nextval(pg_get_serial_sequence('inbound_messages', 'id')) AS id FROM generate_series(1, $1)",
                [count],
            )
            return sorted(row["id"] for row in rows)
        _, rows = await self.conn.execute_query("SELECT COALESCE(MAX(id), 0) AS top FROM inbound_messages")
        top = int(rows[0]["top"])
        return list(range(top + 1, top + 1 + count))

    async def insert_messages(self, messages: Iterable[NewMessage]) -> None:
        rows = [
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
                ProcessingState.PENDING.value,
                0,
            ]
            for m in messages
        ]
        if rows:
            columns = ", ".join(_MESSAGE_COLUMNS)
            sql = f"INSERT INTO inbound_messages ({columns}) VALUES ({self._marks(len(_MESSAGE_COLUMNS))})"
            await self.conn.execute_many(sql, rows)

    async def insert_sightings(self, sightings: Iterable[tuple[int, Incoming]]) -> None:
        rows = [[mid, i.robot_id, i.external_id, i.at_me, i.received_at] for mid, i in sightings]
        if rows:
            columns = ", ".join(_SIGHTING_COLUMNS)
            sql = f"INSERT INTO message_sightings ({columns}) VALUES ({self._marks(len(_SIGHTING_COLUMNS))})"
            await self.conn.execute_many(sql, rows)

    async def attach_external_ids(self, updates: Iterable[tuple[int, str, str]]) -> None:
        """(message id, robot id, external id): a re-delivery brought the id the first report lacked."""
        rows = [[ext, mid, robot] for mid, robot, ext in updates]
        if rows:
            a, b, c = self._marks(3).split(", ")
            sql = f"UPDATE message_sightings SET external_id = {a} WHERE message_id = {b} AND robot_id = {c}"
            await self.conn.execute_many(sql, rows)

    async def touch_conversations(self, conversation_ids: Sequence[int], at: datetime) -> None:
        if conversation_ids:
            sql = (
                f"UPDATE conversations SET last_message_at = {self._marks(1)} "
                f"WHERE id IN ({self._marks(len(conversation_ids), 2)})"
            )
            await self.conn.execute_query(sql, [at, *conversation_ids])
