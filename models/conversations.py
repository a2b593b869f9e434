"""Conversations (group and private chats), their rename history and admin-mapped aliases.

WorkTool names groups only by name: a group is keyed by its remark when set, else its name.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from bot import limits


class Conversation(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=limits.STATE_CHARS)  # "group" | "private"
    key = fields.CharField(max_length=limits.CONVERSATION_KEY_CHARS)
    name = fields.CharField(max_length=limits.NAME_CHARS)
    room_type = fields.SmallIntField(default=0)
    created_at = fields.DatetimeField()
    last_message_at = fields.DatetimeField(null=True)
    # Every message of the conversation with an id up to this one has been processed (or has failed for
    # good): the worker handles a conversation strictly in order, so its pending messages lie above it.
    processed_upto = fields.BigIntField(default=0)
    # Staff took over: the bot does not reply here until then (re-checked right before a reply is sent).
    bot_paused_until = fields.DatetimeField(null=True)
    paused_by = fields.CharField(max_length=limits.NAME_CHARS, null=True)

    class Meta:
        table = "conversations"
        unique_together = (("kind", "key"),)


class ConversationName(Model):
    """Every name a conversation has been seen under (rename history)."""

    id = fields.BigIntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="names", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=limits.NAME_CHARS)
    first_seen_at = fields.DatetimeField()

    class Meta:
        table = "conversation_names"
        unique_together = (("conversation", "name"),)


class ConversationAlias(Model):
    """An admin-made mapping: callbacks keyed `key` belong to `conversation` (e.g. after a rename)."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=limits.STATE_CHARS)
    key = fields.CharField(max_length=limits.CONVERSATION_KEY_CHARS)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="aliases", on_delete=fields.CASCADE
    )
    created_by = fields.CharField(max_length=limits.NAME_CHARS)
    created_at = fields.DatetimeField()

    class Meta:
        table = "conversation_aliases"
        unique_together = (("kind", "key"),)


class ConversationRobot(Model):
    """A robot has seen this conversation (it reported a message of it), so it can send into it."""

    id = fields.BigIntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="robots", on_delete=fields.CASCADE
    )
    robot_id = fields.CharField(max_length=limits.ROBOT_ID_CHARS)
    first_seen_at = fields.DatetimeField()

    class Meta:
        table = "conversation_robots"
        unique_together = (("conversation", "robot_id"),)
