"""The ingest statements, for either placeholder style (`?` for SQLite, `$n` for PostgreSQL).

The SQL text holds only placeholders and fixed names; every value is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from models.messages import ProcessingState

if TYPE_CHECKING:
    from bot.ingest.plan import NewMessage

MESSAGE_COLUMNS: Final = (
    "id",
    "conversation_id",
    "robot_id",
    "external_id",
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
SIGHTING_COLUMNS: Final = ("message_id", "robot_id", "external_id", "at_me", "received_at")
LAST_MESSAGE_ID: Final = "SELECT COALESCE(MAX(id), 0) AS top FROM inbound_messages"
LAST_SIGHTING_ID: Final = "SELECT COALESCE(MAX(id), 0) AS top FROM message_sightings"
PENDING: Final = ProcessingState.PENDING.value
# How many of the newest rows a fresh ingest process reads to rebuild its mirror (then filtered by time).
WARM_ROWS: Final = 200_000


def message_values(message: NewMessage, received_at: Any, at_me: Any) -> tuple[Any, ...]:
    """A new message's values in MESSAGE_COLUMNS order; the dialect encodes the time and the flag."""
    i = message.incoming
    return (
        message.id,
        message.conversation_id,
        i.robot_id,
        i.external_id,
        i.sender,
        i.text,
        i.raw_text,
        i.text_type,
        i.conversation.room_type,
        at_me,
        i.content_hash,
        received_at,
        i.payload_json,
        i.file_base64,
        PENDING,
        0,
    )


@dataclass(frozen=True)
class Statements:
    postgres: bool

    def marks(self, count: int, start: int = 1) -> str:
        if self.postgres:
            return ", ".join(f"${i}" for i in range(start, start + count))
        return ", ".join("?" * count)

    @property
    def messages_after(self) -> str:
        return (
            "SELECT id, content_hash, received_at, robot_id, external_id FROM inbound_messages "
            f"WHERE id > {self.marks(1)} ORDER BY id"
        )

    @property
    def sightings_after(self) -> str:
        return (
            "SELECT id, message_id, robot_id, external_id FROM message_sightings "
            f"WHERE id > {self.marks(1)} ORDER BY id"
        )

    @property
    def sightings_of_messages_after(self) -> str:
        return (
            "SELECT id, message_id, robot_id, external_id FROM message_sightings "
            f"WHERE message_id > {self.marks(1)} ORDER BY id"
        )

    @property
    def insert_message(self) -> str:
        return (
            f"INSERT INTO inbound_messages ({', '.join(MESSAGE_COLUMNS)}) VALUES ({self.marks(len(MESSAGE_COLUMNS))})"
        )

    @property
    def insert_sighting(self) -> str:
        columns = ", ".join(SIGHTING_COLUMNS)
        return f"INSERT INTO message_sightings ({columns}) VALUES ({self.marks(len(SIGHTING_COLUMNS))})"

    @property
    def attach_external_id(self) -> str:
        a, b, c = self.marks(3).split(", ")
        return f"UPDATE message_sightings SET external_id = {a} WHERE message_id = {b} AND robot_id = {c}"

    @property
    def attach_external_id_to_message(self) -> str:
        a, b, c = self.marks(3).split(", ")
        return f"UPDATE inbound_messages SET external_id = {a} WHERE id = {b} AND robot_id = {c}"

    @property
    def mark_at_me(self) -> str:
        """A stored message another robot reported as @ it (plan.at_me)."""
        return f"UPDATE inbound_messages SET at_me = TRUE WHERE id = {self.marks(1)} AND NOT at_me"

    @property
    def mark_at_me_any(self) -> str:
        """mark_at_me for many messages at once (PostgreSQL: an array of ids)."""
        return "UPDATE inbound_messages SET at_me = TRUE WHERE id = ANY($1::bigint[]) AND NOT at_me"

    @property
    def find_conversation(self) -> str:
        a, b = self.marks(2).split(", ")
        return f"SELECT id, name FROM conversations WHERE kind = {a} AND key = {b}"

    @property
    def find_alias(self) -> str:
        a, b = self.marks(2).split(", ")
        return f"SELECT conversation_id FROM conversation_aliases WHERE kind = {a} AND key = {b}"

    @property
    def insert_conversation(self) -> str:
        returning = " RETURNING id" if self.postgres else ""
        return f"INSERT INTO conversations (kind, key, name, room_type, created_at) VALUES ({self.marks(5)}){returning}"

    @property
    def rename_conversation(self) -> str:
        a, b = self.marks(2).split(", ")
        return f"UPDATE conversations SET name = {a} WHERE id = {b}"

    @property
    def record_name(self) -> str:
        return (
            "INSERT INTO conversation_names (conversation_id, name, first_seen_at) "
            f"VALUES ({self.marks(3)}) ON CONFLICT (conversation_id, name) DO NOTHING"
        )

    @property
    def record_presence(self) -> str:
        return (
            "INSERT INTO conversation_robots (conversation_id, robot_id, first_seen_at) "
            f"VALUES ({self.marks(3)}) ON CONFLICT (conversation_id, robot_id) DO NOTHING"
        )
