"""Inbound messages (one row per real message) and the robots that reported them (sightings)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.conversations import Conversation


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
    robot_id = fields.CharField(max_length=64)
    external_id = fields.CharField(max_length=128, null=True)
    sender_name = fields.CharField(max_length=255)
    text = fields.TextField()  # `spoken`: the @robot part removed
    raw_text = fields.TextField()  # `rawSpoken`
    text_type = fields.IntField(default=1)
    room_type = fields.SmallIntField(default=0)
    at_me = fields.BooleanField(default=False)
    content_hash = fields.CharField(max_length=32)
    received_at = fields.DatetimeField()
    payload: fields.Field[dict[str, object]] = fields.JSONField()  # the callback as received
    file_base64 = fields.TextField(null=True)
    state = fields.CharEnumField(ProcessingState, max_length=16, default=ProcessingState.PENDING)
    attempts = fields.IntField(default=0)
    processed_at = fields.DatetimeField(null=True)
    error = fields.TextField(null=True)
    # Filled by the pipeline.
    sender_role = fields.CharField(max_length=16, null=True)
    type = fields.CharField(max_length=64, null=True)
    type_confidence = fields.FloatField(null=True)
    type_reason = fields.TextField(null=True)
    type_source = fields.CharField(max_length=16, null=True)
    is_staff_intervention = fields.BooleanField(null=True)
    intervention_case = fields.CharField(max_length=32, null=True)
    intervention_reason = fields.TextField(null=True)
    intervention_priority = fields.CharField(max_length=16, null=True)
    rules_version = fields.CharField(max_length=64, null=True)

    sightings: fields.ReverseRelation[MessageSighting]

    class Meta:
        table = "inbound_messages"
        # Only what processing reads; dedup uses the ingest process's mirror (bot/ingest/recent.py),
        # so no random-key index slows every insert.
        indexes = (
            ("state", "conversation_id", "id"),  # a conversation's pending messages; the sweeper
            ("conversation_id", "id"),  # a conversation's recent messages: the classifier's context, sessions
        )


class MessageSighting(Model):
    """Another robot's report of a stored message (several robots in one group see each message)."""

    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[InboundMessage] = fields.ForeignKeyField(
        "models.InboundMessage", related_name="sightings", on_delete=fields.CASCADE
    )
    robot_id = fields.CharField(max_length=64)
    external_id = fields.CharField(max_length=128, null=True)
    at_me = fields.BooleanField(default=False)
    received_at = fields.DatetimeField()

    class Meta:
        table = "message_sightings"
        unique_together = (("message", "robot_id"),)
