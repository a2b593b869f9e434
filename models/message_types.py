"""The `message_types` table, seeded from `rules/message_types.yaml`."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from bot import limits


class MessageType(Model):
    code = fields.CharField(max_length=limits.TYPE_CODE_CHARS, primary_key=True)
    name = fields.CharField(max_length=limits.LABEL_CHARS)
    category = fields.CharField(max_length=limits.STATE_CHARS)  # user | staff | operator
    description = fields.TextField(default="")
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "message_types"
