"""`rules/replies.yaml`: what the bot answers by itself — FAQ answers and holding replies — and when."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, field_validator, model_validator

from bot.rules.loading import check_regex, load_rule_file
from bot.rules.message_types import _Strict

VARIABLES: Final = frozenset({"sender", "staff", "group"})
Scope = Literal["at_or_private", "always"]


def _check_template(value: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    unknown = sorted(names - VARIABLES)
    if unknown:
        raise ValueError(f"unknown template variable(s) {unknown}; use {sorted(VARIABLES)}")
    return value


class HoldingReply(_Strict):
    """Sent when a message needs staff (e.g. a complaint) so the user is not left waiting in silence."""

    name: str = Field(min_length=1)
    types: tuple[str, ...] = Field(min_length=1)
    reply: str = Field(min_length=1)
    scope: Scope = "always"

    _template = field_validator("reply")(_check_template)


class FaqReply(_Strict):
    name: str = Field(min_length=1)
    phrases: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    types: tuple[str, ...] = ()  # only for messages of these types (empty: any)
    reply: str = Field(min_length=1)
    scope: Scope = "at_or_private"  # in groups only when the robot is @-mentioned, unless "always"

    _template = field_validator("reply")(_check_template)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_regex(pattern) for pattern in value)

    @model_validator(mode="after")
    def _has_trigger(self) -> FaqReply:
        if not (self.phrases or self.regex):
            raise ValueError("an FAQ reply needs phrases or regex")
        return self


class ReplyExample(_Strict):
    text: str = Field(min_length=1)
    type: str = "chat_other"
    at_me: bool = False
    private: bool = False
    expect: str | None = Field(description="the holding/FAQ reply's name, or null for no reply")


class RepliesFile(_Strict):
    enabled: bool = True
    holding: tuple[HoldingReply, ...] = ()
    faq: tuple[FaqReply, ...] = ()
    examples: tuple[ReplyExample, ...] = ()

    @model_validator(mode="after")
    def _names_unique(self) -> RepliesFile:
        names = [h.name for h in self.holding] + [f.name for f in self.faq]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"reply names listed more than once: {dupes}")
        return self


def load_replies(path: Path) -> RepliesFile:
    return load_rule_file(path, RepliesFile) if path.exists() else RepliesFile()
