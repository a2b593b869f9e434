"""Whether and what the bot answers by itself. Pure: the caller checks the takeover pause and sends.

Never to our own robots or staff; in a group only when the robot is @-mentioned (or a rule's scope is
"always"); a message that needs staff gets a holding reply rather than an FAQ answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.rules.replies import FaqReply, HoldingReply, RepliesFile, Scope
from bot.understanding.engine import Classification
from bot.understanding.intervention import Intervention


@dataclass(frozen=True)
class ReplyDecision:
    rule: str  # the reply's name in replies.yaml
    text: str


@dataclass(frozen=True)
class EarlierReply:
    """A reply the bot already queued in the conversation."""

    rule: str
    to: tuple[str, ...]  # its @ list (empty in a private chat: the chat's one user)
    at: datetime


def _in_scope(scope: Scope, at_me: bool, private: bool) -> bool:
    return scope == "always" or at_me or private


def _fill(template: str, variables: dict[str, str]) -> str:
    return template.format_map({k: variables.get(k, "") for k in ("sender", "staff", "group")})


def _faq_hits(faq: FaqReply, text: str) -> bool:
    return any(p in text for p in faq.phrases) or any(re.search(p, text) for p in faq.regex)


def decide_reply(
    text: str,
    role: str,
    classification: Classification | None,
    intervention: Intervention,
    *,
    at_me: bool,
    private: bool,
    rules: RepliesFile,
    variables: dict[str, str],
) -> ReplyDecision | None:
    if not rules.enabled or role != "user" or classification is None:
        return None
    holding: HoldingReply | None = next((h for h in rules.holding if classification.type in h.types), None)
    if holding is not None:
        if intervention.should_intervene and _in_scope(holding.scope, at_me, private):
            return ReplyDecision(holding.name, _fill(holding.reply, variables))
        return None  # staff must answer this one; an FAQ answer would look careless
    for faq in rules.faq:
        if faq.types and classification.type not in faq.types:
            continue
        if _in_scope(faq.scope, at_me, private) and _faq_hits(faq, text):
            return ReplyDecision(faq.name, _fill(faq.reply, variables))
    return None


def joins_earlier_holding(
    decision: ReplyDecision,
    sender: str,
    earlier: Sequence[EarlierReply],
    *,
    now: datetime,
    window_s: float,
    rules: RepliesFile,
) -> EarlierReply | None:
    """The holding reply this one would repeat — the same holding rule (the same kind of open item) to the same
    user within `window_s` — or None. A second complaint 4 s after the first joins it: the user gets one
    "已通知工作人员" per item, not one per message. FAQ answers are not held back."""
    if window_s <= 0 or all(h.name != decision.rule for h in rules.holding):
        return None
    for reply in earlier:
        fresh = 0 <= (now - reply.at).total_seconds() <= window_s
        if fresh and reply.rule == decision.rule and (not reply.to or sender in reply.to):
            return reply
    return None
