"""Console accounts: people who log in to the web console with a name and password (bot/accounts/).

API tokens (`api.tokens`) stay for machines; an account is a person at a browser. `person` links the
account to a name in rules/people.yaml (or none, for an admin who is not on the staff list).
A session remembers `password_set_at` and `sessions_revoked_at` as they were at login: a reset, a changed
password or a disable since then ends it (bot/accounts/session.py).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from bot import limits


class Account(Model):
    """A console login (`hub users add`)."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=limits.NAME_CHARS, unique=True)
    role = fields.CharField(max_length=limits.STATE_CHARS)  # staff | manager | admin (the API's roles)
    person = fields.CharField(max_length=limits.NAME_CHARS, null=True)  # a name in rules/people.yaml
    password_hash = fields.CharField(max_length=limits.PASSWORD_HASH_CHARS)  # argon2id, PHC string
    disabled = fields.BooleanField(default=False)
    must_change_password = fields.BooleanField(default=True)  # a one-time password was set for it
    created_at = fields.DatetimeField()
    password_set_at = fields.DatetimeField()
    last_login_at = fields.DatetimeField(null=True)
    sessions_revoked_at = fields.DatetimeField(null=True)  # `hub users disable`: sessions issued before end

    class Meta:
        table = "accounts"
        table_description = "Console logins: name, role, linked person, argon2 password hash (bot/accounts/)."
