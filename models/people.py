"""Staff directory (staff, operators, managers), synced from `rules/people.yaml`."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from bot import limits


class Person(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=limits.NAME_CHARS, unique=True)
    aliases: fields.Field[list[str]] = fields.JSONField(default=list)
    role = fields.CharField(max_length=limits.STATE_CHARS)  # staff | operator | manager
    skills: fields.Field[list[str]] = fields.JSONField(default=list)
    shift: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    phone = fields.CharField(max_length=limits.PHONE_CHARS, null=True)
    wecom_userid = fields.CharField(max_length=limits.WECOM_USERID_CHARS, null=True)
    max_open_tasks = fields.IntField(default=20)
    active = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "people"
