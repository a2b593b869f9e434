"""`rules/message_types.yaml`: the message type catalogue (seeded into `message_types`) and the rules that
recognise each type, with examples the loader runs as self-tests.

A rule fires when the sender's role is in its scope, a trigger matches (any phrase, jieba token or regex;
or, with no triggers, all of `all_of`), every `all_of` phrase is present, no `not` phrase is, the length
fits and its context condition holds. A type's confidence combines its fired rules' weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import limits
from bot.rules.loading import check_regex, load_rule_file

Category = Literal["user", "staff", "operator"]
Role = Literal["user", "staff", "operator", "manager", "robot"]
CATEGORY_ROLES: dict[str, tuple[str, ...]] = {
    "user": ("user",),
    "staff": ("staff", "manager"),
    "operator": ("operator",),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ContextCondition(_Strict):
    """What must have happened before the message in its conversation."""

    at_to_sender_within_s: float | None = Field(
        default=None, gt=0, description="staff, an operator or our robot @-mentioned the sender this recently"
    )


class MatchRule(_Strict):
    name: str = ""
    phrases: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    all_of: tuple[str, ...] = ()
    not_: tuple[str, ...] = Field(default=(), alias="not")
    weight: float = Field(default=0.6, gt=0, le=1)
    roles: tuple[Role, ...] | None = None  # default: the type's category
    min_len: int | None = Field(default=None, ge=0)
    max_len: int | None = Field(default=None, ge=1)
    context: ContextCondition | None = None
    against: tuple[str, ...] = Field(
        default=(), description="types this rule counts against: their scores are multiplied by 1 - weight"
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_regex(pattern) for pattern in value)

    @field_validator("phrases", "tokens", "all_of", "not_")
    @classmethod
    def _no_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not v.strip() for v in value):
            raise ValueError("empty phrase")
        return value

    @model_validator(mode="after")
    def _has_trigger(self) -> MatchRule:
        if not (self.phrases or self.tokens or self.regex or self.all_of):
            raise ValueError("a rule needs phrases, tokens, regex or all_of")
        return self


class ContextLine(_Strict):
    role: Role
    content: str
    sender: str = ""


class Example(_Strict):
    text: str = Field(min_length=1)
    role: Role | None = None  # default: the type's category
    sender: str = ""
    context: tuple[ContextLine, ...] = ()
    expect: str | None = None  # default: the type it is listed under


class MessageTypeRule(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z_]*$", max_length=limits.TYPE_CODE_CHARS)
    name: str = Field(min_length=1, max_length=limits.LABEL_CHARS)
    category: Category
    description: str = ""
    fallback: bool = False  # the category's type when no rule fires
    priority: int = 0  # breaks ties between equally confident types (higher wins)
    rules: tuple[MatchRule, ...] = ()
    examples: tuple[Example, ...] = ()


class WordGroup(_Strict):
    weight: float = Field(gt=0, le=1)
    words: tuple[str, ...] = Field(min_length=1)

    @field_validator("words")
    @classmethod
    def _no_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not v.strip() for v in value):
            raise ValueError("empty word")
        return value


class Sentiment(_Strict):
    """A lexicon of dissatisfaction and praise that counts across types: a message's negative score is a clue
    for `negative_type`, its positive score a clue for `positive_type` and evidence against `positive_lowers`.
    A word right after a negator flips (不满意, 一点都不差); an intensifier next to it strengthens it (太差, 慢死了).
    Single-character words (差, 烂, 慢) count only where jieba does not read them as part of another word
    (差不多, 出差, 慢慢来)."""

    roles: tuple[Role, ...] = ("user",)
    negative: tuple[WordGroup, ...] = ()
    positive: tuple[WordGroup, ...] = ()
    neutral: tuple[str, ...] = Field(default=(), description="look-alikes that are neither (不好意思, 差不多)")
    negators: tuple[str, ...] = ("不", "没")
    not_negations: tuple[str, ...] = Field(
        default=(), description="in the clause, these make it a demand, not a negation (别敷衍, 不要拖)"
    )
    negation_window: int = Field(default=3, ge=0, le=10, description="characters before a word, same clause")
    intensifiers_before: tuple[str, ...] = ()
    intensifiers_after: tuple[str, ...] = ()
    intensity: float = Field(default=0.5, ge=0, le=1, description="an intensifier closes this share of 1 - w")
    negative_type: str = "chat_complaint"
    negative_scale: float = Field(default=1.0, gt=0, le=1)
    aimed_elsewhere: tuple[str, ...] = Field(default=(), description="the negativity is about these, not us")
    aimed_at_us: tuple[str, ...] = Field(
        default=(), description="...unless one of these names us; then negativity counts in full (no scale)"
    )
    elsewhere_against: float = Field(
        default=0.5, ge=0, le=1, description="negativity about elsewhere lowers the complaint type this much"
    )
    positive_type: str = "chat_daily"
    positive_scale: float = Field(default=1.0, gt=0, le=1)
    positive_lowers: tuple[str, ...] = ("chat_complaint",)
    # Dissatisfaction (aimed at us, not a question) counts against these: a verdict on the work ("封面太俗",
    # "剪辑没抓住重点") is a complaint, not talk about the work.
    negative_lowers: tuple[str, ...] = ()
    against_scale: float = Field(default=1.0, ge=0, le=1, description="share of the positive score taken off")


class MessageTypesFile(_Strict):
    fallback_confidence: float = Field(default=0.3, gt=0, lt=1)
    sentiment: Sentiment | None = None
    types: tuple[MessageTypeRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> MessageTypesFile:
        codes = [t.code for t in self.types]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"type codes listed more than once: {dupes}")
        for category in ("user", "staff", "operator"):
            fallbacks = [t.code for t in self.types if t.category == category and t.fallback]
            if len(fallbacks) != 1:
                raise ValueError(f"category {category} needs exactly one fallback type, has {fallbacks}")
        for t in self.types:
            for example in t.examples:
                if example.expect is not None and example.expect not in codes:
                    raise ValueError(f"{t.code}: example expects unknown type {example.expect!r}")
        for t in self.types:
            for rule in t.rules:
                if unknown := sorted(set(rule.against) - set(codes)):
                    raise ValueError(f"{t.code}.{rule.name}: against names unknown type(s) {unknown}")
        if self.sentiment is not None:
            named = (
                self.sentiment.negative_type,
                self.sentiment.positive_type,
                *self.sentiment.positive_lowers,
                *self.sentiment.negative_lowers,
            )
            unknown = sorted(set(named) - set(codes))
            if unknown:
                raise ValueError(f"sentiment names unknown type(s) {unknown}")
        return self


def load_message_types(path: Path) -> MessageTypesFile:
    return load_rule_file(path, MessageTypesFile)
