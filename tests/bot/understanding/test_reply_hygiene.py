"""The pure decision behind one holding reply per user and open item (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.rules.replies import RepliesFile
from bot.understanding.replies import EarlierReply, ReplyDecision, joins_earlier_holding

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
RULES = RepliesFile.model_validate(
    {
        "holding": [
            {"name": "complaint", "types": ["chat_complaint"], "reply": "@{sender} 已通知工作人员"},
            {"name": "private_op", "types": ["chat_private_operation"], "reply": "@{sender} 收到"},
        ],
        "faq": [{"name": "qr", "phrases": ["二维码"], "reply": "二维码5分钟有效"}],
    }
)


def joins(rule: str, sender: str, *earlier: EarlierReply, window_s: float = 600) -> bool:
    decision = ReplyDecision(rule, "…")
    return joins_earlier_holding(decision, sender, earlier, now=NOW, window_s=window_s, rules=RULES) is not None


def test_one_holding_reply_per_user_and_item_within_the_window() -> None:
    four_s_ago = EarlierReply("complaint", ("号主A",), NOW - timedelta(seconds=4))
    assert joins("complaint", "号主A", four_s_ago)
    assert not joins("complaint", "号主B", four_s_ago)  # another user
    assert not joins("private_op", "号主A", four_s_ago)  # another kind of item
    assert not joins("qr", "号主A", EarlierReply("qr", ("号主A",), NOW))  # FAQ answers are not held back
    old = EarlierReply("complaint", ("号主A",), NOW - timedelta(seconds=601))
    assert not joins("complaint", "号主A", old)
    assert not joins("complaint", "号主A", four_s_ago, window_s=0)  # 0: no limit
    private = EarlierReply("complaint", (), NOW - timedelta(minutes=1))  # a private chat has one user
    assert joins("complaint", "号主A", private)
