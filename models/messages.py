"""Inbound messages (one row per real message) and the robots that reported them (sightings)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Final

from tortoise import fields
from tortoise.models import Model

from bot import limits

if TYPE_CHECKING:
    from models.conversations import Conversation


# Queries that should use the partial pending index (migration 4) carry its predicate as a literal: the
# index serves only those, and tortoise binds filter values as parameters, hence the raw SQL.
PENDING_COUNT_SQL: Final = 'SELECT COUNT(*) AS "n" FROM "inbound_messages" WHERE "state" = \'pending\''
# Grouped by an expression (+x): grouping by the column itself made SQLite walk the whole
# (conversation_id, id) index for its order instead of the few pending rows.
PENDING_CONVERSATIONS_SQL: Final = (
    'SELECT +"conversation_id" AS "conversation_id", MIN("id") AS "first", MAX("id") AS "upto" '
    'FROM "inbound_messages" WHERE "state" = \'pending\' GROUP BY 1 LIMIT 5000'
)


class ProcessingState(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class InboundMessage(Model):
    id = fields.BigIntField(primary_key=True)  # arrival order
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="messages", on_delete=fields.RESTRICT
    )
    # The robot whose report created the message (its messageId too); other robots' copies are sightings.
    robot_id = fields.CharField(max_length=limits.ROBOT_ID_CHARS)
    external_id = fields.CharField(max_length=limits.EXTERNAL_ID_CHARS, null=True)
    sender_name = fields.CharField(max_length=limits.NAME_CHARS)
    text = fields.TextField()  # `spoken`: the @robot part removed
    raw_text = fields.TextField()  # `rawSpoken`
    text_type = fields.IntField(default=1)
    room_type = fields.SmallIntField(default=0)
    at_me = fields.BooleanField(default=False)
    content_hash = fields.CharField(max_length=limits.HASH_CHARS)
    received_at = fields.DatetimeField()
    payload: fields.Field[dict[str, object]] = fields.JSONField()  # the callback as received
    file_base64 = fields.TextField(null=True)
    state = fields.CharEnumField(ProcessingState, max_length=limits.STATE_CHARS, default=ProcessingState.PENDING)
    attempts = fields.IntField(default=0)
    processed_at = fields.DatetimeField(null=True)
    error = fields.TextField(null=True)
    # Filled by the pipeline.
    sender_role = fields.CharField(max_length=limits.STATE_CHARS, null=True)
    type = fields.CharField(max_length=limits.TYPE_CODE_CHARS, null=True)
    type_confidence = fields.FloatField(null=True)
    type_reason = fields.TextField(null=True)
    type_source = fields.CharField(max_length=limits.STATE_CHARS, null=True)
    is_staff_intervention = fields.BooleanField(null=True)
    intervention_case = fields.CharField(max_length=limits.KIND_CHARS, null=True)
    intervention_reason = fields.TextField(null=True)
    intervention_priority = fields.CharField(max_length=limits.STATE_CHARS, null=True)
    rules_version = fields.CharField(max_length=limits.VERSION_CHARS, null=True)

    sightings: fields.ReverseRelation[MessageSighting]

    class Meta:
        table = "inbound_messages"
        # Only what processing reads; dedup uses the ingest process's mirror (bot/ingest/recent.py),
        # so no random-key index slows every insert. A conversation's pending messages are found by
        # (conversation_id, id) above Conversation.processed_upto. The sweeper's "which conversations have
        # pending messages" uses a partial index, `(id) WHERE state = 'pending'`, created in migration 4
        # (tortoise cannot declare one): new rows land at its end (one page per batch, where the former
        # (state, conversation_id, id) took one page per message) and it shrinks as the worker keeps up.
        indexes = (("conversation_id", "id"),)


class MessageSighting(Model):
    """Another robot's report of a stored message (several robots in one group see each message)."""

    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[InboundMessage] = fields.ForeignKeyField(
        "models.InboundMessage", related_name="sightings", on_delete=fields.CASCADE
    )
    robot_id = fields.CharField(max_length=limits.ROBOT_ID_CHARS)
    external_id = fields.CharField(max_length=limits.EXTERNAL_ID_CHARS, null=True)
    at_me = fields.BooleanField(default=False)
    received_at = fields.DatetimeField()

    class Meta:
        table = "message_sightings"
        unique_together = (("message", "robot_id"),)
