"""`rules/intervention.yaml`: which messages need staff now, which are after-sales, and when staff took over."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from bot.rules.loading import check_regex, load_rule_file
from bot.rules.message_types import ContextLine, Role, _Strict

Priority = Literal["low", "normal", "high", "urgent"]
Case = Literal["staff_took_over", "needs_staff_now", "needs_after_sales", "no_staff_needed"]


class TypeCase(_Strict):
    types: tuple[str, ...] = Field(min_length=1)
    priority: Priority = "normal"


class Refusal(_Strict):
    """A user answering an @ by refusing (不弄了, 别找我) needs staff now."""

    types: tuple[str, ...] = ("chat_response",)
    phrases: tuple[str, ...] = Field(min_length=1)
    priority: Priority = "high"


class Takeover(_Strict):
    roles: tuple[Role, ...] = ("staff", "operator", "manager")
    types: tuple[str, ...] = Field(min_length=1, description="staff types that address a user")
    open_item_types: tuple[str, ...] = Field(min_length=1, description="user types that stay open until answered")
    question_pattern: str = r"[?？]|吗|呢|怎么|哪|什么|多少|为什么|为啥|能不能|可以吗"
    open_item_window_s: float = Field(default=7200, gt=0)
    takeover_minutes: float = Field(default=30, ge=0)

    @field_validator("question_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return check_regex(value)


class AddresseeRules(_Strict):
    """Whom a staff/operator message addresses (bot/understanding/addressee.py); names and aliases come from
    people.yaml."""

    colleague_titles: tuple[str, ...] = ("经理", "主管", "组长", "领导")
    group_words: tuple[str, ...] = ("大家", "各位", "所有人")  # at the start, or asking everyone (大家注意)
    announcement_words: tuple[str, ...] = ("请知悉",)  # anywhere
    internal_words: tuple[str, ...] = ()
    customer_words: tuple[str, ...] = ("您", "亲")


Addressee = Literal["user", "staff", "other_user", "group", "nobody"]


class InterventionExample(_Strict):
    text: str = Field(min_length=1)
    role: Role = "user"
    sender: str = ""
    context: tuple[ContextLine, ...] = ()
    expect: Case
    addressee: Addressee | None = None  # checked too when given


class InterventionFile(_Strict):
    needs_staff_now: TypeCase
    refusal: Refusal
    needs_after_sales: TypeCase
    staff_took_over: Takeover
    handled_phrases: tuple[str, ...] = ("已处理", "接手")
    addressee: AddresseeRules = AddresseeRules()
    examples: tuple[InterventionExample, ...] = ()


def load_intervention(path: Path) -> InterventionFile:
    return load_rule_file(path, InterventionFile)
