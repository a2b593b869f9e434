"""The rule engine: classifies one message from its text, sender role and conversation context. Pure.

Compiled once per rule set. Per message: one lower-casing, one jieba cut (only if a rule in scope has
tokens), then every rule in scope of the sender's role is checked; a type's confidence is
1 - Π(1 - weight) over its fired rules. Nothing fired → the category's fallback type at low confidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import jieba

from bot.rules.message_types import CATEGORY_ROLES, MatchRule, MessageTypeRule, MessageTypesFile
from bot.understanding.addressee import AddresseeFinder, split_quote
from bot.understanding.sentiment import Lexicon, Reading

MENTION: Final = re.compile(r"@([^\s@\u2005\u00a0,，:：。!！?？]+)")
ADDRESSERS: Final = frozenset({"staff", "operator", "manager", "robot"})


def mentions(text: str) -> tuple[str, ...]:
    return tuple(MENTION.findall(text))


@dataclass(frozen=True)
class ContextMessage:
    """An earlier message of the conversation (oldest first in a context)."""

    role: str
    text: str
    sender: str = ""
    at: datetime | None = None
    type: str | None = None


@dataclass(frozen=True)
class MessageInput:
    text: str
    role: str
    sender: str = ""
    at: datetime | None = None
    context: tuple[ContextMessage, ...] = ()


@dataclass(frozen=True)
class Classification:
    type: str
    type_name: str
    category: str
    confidence: float
    reason: str
    source: str  # rules | context | fallback | llm


def _alternation(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """Phrases as one regex (longest first): one C-level scan instead of a Python loop per phrase."""
    if not terms:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)))


@dataclass(frozen=True)
class _Compiled:
    type_code: str
    label: str
    weight: float
    phrases: re.Pattern[str] | None  # over the lower-cased text
    tokens: frozenset[str]
    regex: tuple[re.Pattern[str], ...]
    all_of: tuple[str, ...]
    not_: re.Pattern[str] | None
    min_len: int | None
    max_len: int | None
    at_within_s: float | None
    against: tuple[str, ...]

    def fire(self, text: str, lowered: str, tokens: frozenset[str] | None, msg: MessageInput) -> str | None:
        """What matched, or None. Cheapest and most selective checks first."""
        size = len(text)
        if (self.min_len is not None and size < self.min_len) or (self.max_len is not None and size > self.max_len):
            return None
        if self.at_within_s is not None and not _addressed(msg, self.at_within_s):
            return None
        hit = self._trigger(text, lowered, tokens)
        if hit is None:
            return None
        if self.not_ is not None and self.not_.search(lowered):
            return None
        if any(term not in lowered for term in self.all_of):
            return None
        return hit + " after an @ to the sender" if self.at_within_s is not None else hit

    def _trigger(self, text: str, lowered: str, tokens: frozenset[str] | None) -> str | None:
        if self.phrases is not None and (found := self.phrases.search(lowered)):
            return f"'{found.group()}'"
        if self.tokens and tokens is not None:
            common = self.tokens & tokens
            if common:
                return f"token '{min(common)}'"
        for pattern in self.regex:
            if found := pattern.search(text):
                return f"'{found.group()}'"
        if self.phrases is not None or self.tokens or self.regex:
            return None
        return "+".join(self.all_of)  # a rule of all_of alone: checked by the caller


def _addressed(msg: MessageInput, within_s: float) -> bool:
    """Staff, an operator or our robot @-mentioned the sender (anyone, if the sender is unknown) lately."""
    for earlier in reversed(msg.context):
        if earlier.role not in ADDRESSERS:
            continue
        if msg.at is not None and earlier.at is not None and (msg.at - earlier.at).total_seconds() > within_s:
            return False
        named = mentions(earlier.text)
        if named and (not msg.sender or msg.sender in named):
            return True
    return False


@dataclass
class Engine:
    rules: MessageTypesFile
    addressing: AddresseeFinder | None = None  # whom staff/operator messages address (names from people.yaml)
    types: dict[str, MessageTypeRule] = field(init=False)
    _by_role: dict[str, tuple[_Compiled, ...]] = field(init=False)
    _needs_tokens: dict[str, bool] = field(init=False)
    _fallback: dict[str, MessageTypeRule] = field(init=False)
    _lexicon: Lexicon | None = field(init=False)

    def __post_init__(self) -> None:
        self._lexicon = Lexicon(self.rules.sentiment) if self.rules.sentiment is not None else None
        self.types = {t.code: t for t in self.rules.types}
        self._fallback = {t.category: t for t in self.rules.types if t.fallback}
        by_role: dict[str, list[_Compiled]] = {}
        for mtype in self.rules.types:
            for n, rule in enumerate(mtype.rules):
                compiled = _compile(mtype, n, rule)
                for role in rule.roles or CATEGORY_ROLES[mtype.category]:
                    by_role.setdefault(role, []).append(compiled)
        self._by_role = {role: tuple(rules) for role, rules in by_role.items()}
        self._needs_tokens = {role: any(r.tokens for r in rules) for role, rules in self._by_role.items()}
        if any(self._needs_tokens.values()):
            jieba.initialize()  # at compile time, not on the first message that needs tokens

    def category_of(self, role: str) -> str:
        return "operator" if role == "operator" else "staff" if role in ("staff", "manager") else "user"

    def classify(self, msg: MessageInput) -> Classification:
        text = split_quote(msg.text)[1].strip()  # a quoted message is not what this one says
        lowered = text.lower()
        tokens = frozenset(jieba.lcut(lowered, HMM=False)) if self._needs_tokens.get(msg.role) else None
        scores: dict[str, float] = {}
        reasons: dict[str, list[str]] = {}
        from_context: set[str] = set()
        counted: list[_Compiled] = []
        for rule in self._by_role.get(msg.role, ()):
            hit = rule.fire(text, lowered, tokens, msg)
            if hit is None:
                continue
            miss = 1.0 - scores.get(rule.type_code, 0.0)
            scores[rule.type_code] = 1.0 - miss * (1.0 - rule.weight)
            reasons.setdefault(rule.type_code, []).append(f"{rule.label} matched {hit}")
            if rule.at_within_s is not None:
                from_context.add(rule.type_code)
            if rule.against:
                counted.append(rule)
        against = _counter_evidence(counted, scores)
        if self._lexicon is not None and msg.role in self._lexicon.roles:
            reading = self._lexicon.read(lowered)
            if reading is not None:
                self._weigh(reading, scores, reasons, against)
        if (colleague := self._to_colleague(msg, text, scores)) is not None:
            return colleague
        if not scores:
            fallback = self._fallback[self.category_of(msg.role)]
            return Classification(
                fallback.code,
                fallback.name,
                fallback.category,
                self.rules.fallback_confidence,
                "no rule matched",
                "fallback",
            )
        best = max(scores, key=lambda code: (round(scores[code], 6), self.types[code].priority))
        mtype = self.types[best]
        runner_up = max((s for c, s in scores.items() if c != best), default=0.0)
        # A close second lowers confidence: the rules disagree.
        confidence = scores[best] * (1.0 - 0.5 * runner_up)
        reason = "; ".join(reasons.get(best, ()))
        if best in against:
            reason += f"; against: {against[best]}"
        if runner_up:
            second = max((c for c in scores if c != best), key=lambda c: scores[c])
            reason += f" (also {second} {scores[second]:.2f})"
        source = "context" if best in from_context else "rules"
        return Classification(mtype.code, mtype.name, mtype.category, round(confidence, 3), reason, source)

    def _to_colleague(self, msg: MessageInput, text: str, scores: dict[str, float]) -> Classification | None:
        """A staff/operator remark to a colleague is none of the types that address owners: the fallback type."""
        if self.addressing is None or msg.role not in ADDRESSERS or msg.role == "robot" or not scores:
            return None
        to = self.addressing.find(text, None)
        if to.addressee != "staff":
            return None
        fallback = self._fallback[self.category_of(msg.role)]
        ruled = max(scores, key=lambda code: scores[code])
        reason = f"addressed to a colleague: {to.reason} (the rules said {ruled} {scores[ruled]:.2f})"
        return Classification(fallback.code, fallback.name, fallback.category, 0.9, reason, "rules")

    def _weigh(
        self, reading: Reading, scores: dict[str, float], reasons: dict[str, list[str]], against: dict[str, str]
    ) -> None:
        """The lexicon's reading as evidence across types: negativity for the complaint type (unless it is about
        the platform or the numbers), praise for the positive type and against the types it lowers."""
        config = self._lexicon.config if self._lexicon is not None else None
        if config is None:
            return
        if reading.negative and reading.elsewhere is None:
            code = config.negative_type
            weight = reading.negative * (1.0 if reading.at_us else config.negative_scale)
            scores[code] = 1.0 - (1.0 - scores.get(code, 0.0)) * (1.0 - weight)
            aimed = f" at '{reading.at_us}'" if reading.at_us else ""
            reasons.setdefault(code, []).append(f"dissatisfaction {reading.words(False)}{aimed} ({weight:.2f})")
            if not reading.asks:
                for lowered_code in config.negative_lowers:
                    if lowered_code in scores:
                        factor = 1.0 - reading.negative * config.against_scale
                        scores[lowered_code] *= factor
                        against[lowered_code] = f"dissatisfaction {reading.words(False)} (×{factor:.2f})"
        elif reading.negative and config.negative_type in scores:
            factor = 1.0 - config.elsewhere_against
            scores[config.negative_type] *= factor
            against[config.negative_type] = f"the discontent is about '{reading.elsewhere}', not us (×{factor:.2f})"
        if reading.positive and reading.elsewhere is None:
            code = config.positive_type
            weight = reading.positive * config.positive_scale
            scores[code] = 1.0 - (1.0 - scores.get(code, 0.0)) * (1.0 - weight)
            praise = reading.words(True)
            reasons.setdefault(code, []).append(f"praise {praise} ({weight:.2f})")
            for lowered_code in config.positive_lowers:
                if lowered_code in scores:
                    factor = 1.0 - reading.positive * config.against_scale
                    scores[lowered_code] *= factor
                    against[lowered_code] = f"praise {praise} (×{factor:.2f})"


def _counter_evidence(counted: list[_Compiled], scores: dict[str, float]) -> dict[str, str]:
    """Rules with `against:` lower those types once every rule has had its say; what lowered what."""
    against: dict[str, str] = {}
    for rule in counted:
        for code in rule.against:
            if code in scores:
                scores[code] *= 1.0 - rule.weight
                against[code] = f"{rule.label} (×{1.0 - rule.weight:.2f})"
    return against


def _compile(mtype: MessageTypeRule, n: int, rule: MatchRule) -> _Compiled:
    return _Compiled(
        type_code=mtype.code,
        label=f"{mtype.code}.{rule.name or n + 1}",
        weight=rule.weight,
        phrases=_alternation(tuple(p.lower() for p in rule.phrases)),
        tokens=frozenset(t.lower() for t in rule.tokens),
        regex=tuple(re.compile(p, re.IGNORECASE) for p in rule.regex),
        all_of=tuple(p.lower() for p in rule.all_of),
        not_=_alternation(tuple(p.lower() for p in rule.not_)),
        min_len=rule.min_len,
        max_len=rule.max_len,
        at_within_s=rule.context.at_to_sender_within_s if rule.context else None,
        against=rule.against,
    )


def context_from_lines(lines: Sequence[tuple[str, str]]) -> tuple[ContextMessage, ...]:
    return tuple(ContextMessage(role=role, text=content) for role, content in lines)
