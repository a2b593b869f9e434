"""Does staff need to step in, or have they already? (DESIGN §3.3). Pure.

Order matters: a complaint, private operation, hard operator tone or a refusal needs staff now; an
after-sales request needs an after-sales task; a staff or operator message that answers an open item of
its conversation (an unanswered user question or complaint, an open alert or task) is a takeover;
anything else needs no one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.rules.intervention import Case, InterventionFile
from bot.understanding.engine import Classification, ContextMessage, Engine, MessageInput

STAFF_ROLES = frozenset({"staff", "operator", "manager"})


@dataclass(frozen=True)
class Intervention:
    case: Case
    should_intervene: bool  # staff must act now (alert or task)
    reason: str
    priority: str

    @property
    def is_staff_intervention(self) -> bool:
        return self.case == "staff_took_over"


def _type_of(message: ContextMessage, engine: Engine) -> str:
    if message.type is not None:
        return message.type
    return engine.classify(MessageInput(message.text, message.role, message.sender, message.at)).type


def open_item(
    context: tuple[ContextMessage, ...], now: datetime | None, rules: InterventionFile, engine: Engine
) -> ContextMessage | None:
    """The newest user message still waiting for staff: open type or a question, within the window, and
    no staff message after it."""
    takeover = rules.staff_took_over
    question = re.compile(takeover.question_pattern)
    for earlier in reversed(context):
        if earlier.role in STAFF_ROLES:
            return None  # staff spoke after anything older
        if earlier.role != "user":
            continue
        if (
            now is not None
            and earlier.at is not None
            and (now - earlier.at).total_seconds() > takeover.open_item_window_s
        ):
            return None
        if _type_of(earlier, engine) in takeover.open_item_types or question.search(earlier.text):
            return earlier
    return None


def judge(
    msg: MessageInput,
    classification: Classification | None,
    rules: InterventionFile,
    engine: Engine,
    open_elsewhere: str | None = None,
) -> Intervention:
    """`open_elsewhere`: an open alert or task of the conversation, described (None if there is none)."""
    if classification is None or msg.role == "robot":
        return Intervention("no_staff_needed", False, "our own robot", "low")
    kind = classification.type
    refusal = rules.refusal
    said = next((p for p in refusal.phrases if p in msg.text), None) if kind in refusal.types else None
    if kind in rules.needs_staff_now.types:
        found = Intervention("needs_staff_now", True, classification.type_name, rules.needs_staff_now.priority)
    elif said is not None:
        found = Intervention("needs_staff_now", True, f"the user refused ('{said}')", refusal.priority)
    elif kind in rules.needs_after_sales.types:
        found = Intervention("needs_after_sales", True, classification.type_name, rules.needs_after_sales.priority)
    else:
        found = _takeover(msg, classification, rules, engine, open_elsewhere)
    return found


def _takeover(
    msg: MessageInput,
    classification: Classification,
    rules: InterventionFile,
    engine: Engine,
    open_elsewhere: str | None,
) -> Intervention:
    takeover = rules.staff_took_over
    handled = next((p for p in rules.handled_phrases if p in msg.text), None)  # 已处理 / 接手
    if msg.role in takeover.roles and (classification.type in takeover.types or handled is not None):
        what = f"marked '{handled}'" if handled is not None else classification.type_name
        item = open_item(msg.context, msg.at, rules, engine)
        if engine.addressing is not None and (item is not None or open_elsewhere is not None):
            to = engine.addressing.find(msg.text, item.sender if item is not None else "")
            if to.elsewhere:
                return Intervention("no_staff_needed", False, f"not to the user: {to.reason}", "low")
        if item is not None:
            excerpt = item.text if len(item.text) <= 20 else item.text[:20] + "…"
            who = f"{item.sender}: " if item.sender else ""
            return Intervention("staff_took_over", False, f"{what} to «{who}{excerpt}»", "normal")
        if open_elsewhere is not None:
            return Intervention("staff_took_over", False, f"{what} on {open_elsewhere}", "normal")
    return Intervention("no_staff_needed", False, "", "low")


def analyze_reply_quality(reply: str, question: str | None = None, latency_s: float | None = None) -> int:
    """0-100 for a staff reply: addresses the question, politeness, a sensible length, how fast it came."""
    text = reply.strip()
    if not text:
        return 0
    score = 40.0
    if any(word in text for word in ("您", "请", "麻烦", "抱歉", "谢谢", "辛苦")):
        score += 15
    if any(word in text for word in ("早说过", "别", "自己看着办", "不管", "爱做不做")):
        score -= 25
    size = len(text)
    score += 15 if 8 <= size <= 200 else 5 if size < 8 else 8
    if question:
        overlap = {ch for ch in question if "\u4e00" <= ch <= "\u9fff"} & set(text)
        score += min(20, 4 * len(overlap))
    else:
        score += 10
    if latency_s is not None:
        score += 10 if latency_s <= 300 else 5 if latency_s <= 1800 else -10
    return max(0, min(100, round(score)))
