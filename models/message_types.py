"""The `message_types` table, seeded from `rules/message_types.yaml`."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class MessageType(Model):
    code = fields.CharField(max_length=64, primary_key=True)
    name = fields.CharField(max_length=64)
    category = fields.CharField(max_length=16)  # user | staff | operator
    description = fields.TextField(default="")
    sort_order = fields.IntField(default=0)

    class Meta:
        table = "message_types"
