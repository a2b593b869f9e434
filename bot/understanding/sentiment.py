"""Dissatisfaction and praise in a message, from the lexicon in `rules/message_types.yaml` (`sentiment:`). Pure.

One regex scan finds the lexicon's words, longest first, so a listed look-alike (不好意思, 差不多) hides the
word inside it. A word right after a negator in the same clause flips (不满意 → negative, 一点都不差 →
positive); an intensifier next to it (太差, 慢死了) strengthens it. A single-character word (差, 烂, 慢) counts
only when jieba does not read it as part of another word (出差, 慢慢来, 差点): the text is cut only when such a
word is found, so most messages never pay for jieba.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import jieba

from bot.rules.message_types import Sentiment

CLAUSE_END: Final = re.compile(r"[，,。.!！?？~～、；;\s]")
QUESTION: Final = re.compile(r"(?:[?？]|吗|么)[?？!！。~～\s]*$")
# Asking or proposing rather than judging: "要不要重拍", "能不能简单点" (for `negative_lowers`).
ASKS: Final = re.compile(r"[?？]|吗|要不要|能不能|可不可以|行不行|好不好|能否|是否|要紧|怎么办")
# What may stick to a single-character word inside one jieba token without changing its sense (太差, 差了).
GLUE: Final = frozenset("太真好很超巨贼最特别非常了的啊呀吧啦咯死透爆极")


@dataclass(frozen=True)
class Hit:
    word: str
    positive: bool  # after negation
    weight: float
    how: str  # "", "negated", "intensified", "negated, intensified"

    def describe(self) -> str:
        return f"'{self.word}'" + (f" ({self.how})" if self.how else "")


@dataclass(frozen=True)
class Reading:
    negative: float  # 1 - Π(1 - w) over the negative hits
    positive: float
    hits: tuple[Hit, ...]
    elsewhere: str | None  # the sentiment is about this (流量, 平台, 你的号), not about us
    at_us: str | None  # ...or names us (你们, 客服, 样品)
    asks: bool = False  # the message asks or proposes ("脚本太长了，能改短吗", "拍得不太好，要不要重拍")

    def words(self, positive: bool) -> str:
        return ", ".join(h.describe() for h in self.hits if h.positive == positive)


def _alternation(words: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)))


class Lexicon:
    """Compiled once per rule set."""

    def __init__(self, config: Sentiment) -> None:
        self.config = config
        self._words: dict[str, tuple[bool, float]] = {}
        for positive, groups in ((False, config.negative), (True, config.positive)):
            for group in groups:
                for word in group.words:
                    self._words[word.lower()] = (positive, group.weight)
        neutral = [w.lower() for w in config.neutral]
        self._pattern = _alternation([*self._words, *neutral]) if self._words else None
        self._single = frozenset(w for w in self._words if len(w) == 1)
        self._negators = tuple(n.lower() for n in config.negators)
        self._demands = tuple(n.lower() for n in config.not_negations)
        self._before = tuple(sorted((i.lower() for i in config.intensifiers_before), key=len, reverse=True))
        self._after = tuple(sorted((i.lower() for i in config.intensifiers_after), key=len, reverse=True))
        self._elsewhere = _alternation([w.lower() for w in config.aimed_elsewhere]) if config.aimed_elsewhere else None
        self._at_us = _alternation([w.lower() for w in config.aimed_at_us]) if config.aimed_at_us else None
        self.roles = frozenset(config.roles)
        if self._single:
            jieba.initialize()  # at compile time, not on the first message that needs it

    def read(self, lowered: str) -> Reading | None:
        """What the lexicon finds in the lower-cased text; None when nothing."""
        if self._pattern is None:
            return None
        hits: list[Hit] = []
        tokens: list[tuple[str, int, int]] | None = None
        question = QUESTION.search(lowered) is not None
        for found in self._pattern.finditer(lowered):
            word = found.group()
            entry = self._words.get(word)
            if entry is None:
                continue  # a neutral look-alike
            start, end = found.span()
            if word in self._single:
                if tokens is None:
                    tokens = list(jieba.tokenize(lowered, HMM=False))
                if not _standalone(word, start, tokens):
                    continue
            positive, weight = entry
            clause = CLAUSE_END.split(lowered[max(0, start - self.config.negation_window) : start])[-1]
            demand = any(d in clause for d in self._demands)
            if positive and (demand or question):
                continue  # "能不能靠谱一点", "有什么好用的推荐吗": a wish or a question, not praise
            negated = any(n in clause for n in self._negators) and not demand
            intensified = any(clause.endswith(i) for i in self._before) or lowered.startswith(self._after, end)
            if intensified:
                weight += (1.0 - weight) * self.config.intensity
            how = ", ".join(what for what, on in (("negated", negated), ("intensified", intensified)) if on)
            hits.append(Hit(word, positive != negated, weight, how))
        if not hits:
            return None
        negative = positive_score = 0.0
        for hit in hits:
            if hit.positive:
                positive_score = 1.0 - (1.0 - positive_score) * (1.0 - hit.weight)
            else:
                negative = 1.0 - (1.0 - negative) * (1.0 - hit.weight)
        us = self._at_us.search(lowered) if self._at_us is not None else None
        about = self._elsewhere.search(lowered) if self._elsewhere is not None and us is None else None
        return Reading(
            negative,
            positive_score,
            tuple(hits),
            about.group() if about else None,
            us.group() if us else None,
            ASKS.search(lowered) is not None,
        )


def _standalone(word: str, start: int, tokens: list[tuple[str, int, int]]) -> bool:
    """jieba reads the character at `start` as the word itself, maybe with glue (太差, 差了), not as part of
    another word (差不多, 出差)."""
    for token, begin, end in tokens:
        if begin <= start < end:
            return all(ch in GLUE for ch in token.replace(word, "", 1))
    return True
