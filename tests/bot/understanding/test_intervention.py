"""The intervention judgement, reply decisions and reply quality on the small rule set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.understanding.engine import ContextMessage, MessageInput
from bot.understanding.intervention import analyze_reply_quality, open_item
from bot.understanding.replies import decide_reply
from bot.understanding.ruleset import RuleSet, load_ruleset

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def rules(rules_dir: Path) -> RuleSet:
    return load_ruleset(rules_dir)


def ctx(*lines: tuple[str, str, int]) -> tuple[ContextMessage, ...]:
    """(role, text, minutes ago)"""
    return tuple(ContextMessage(role, text, at=NOW - timedelta(minutes=ago)) for role, text, ago in lines)


@pytest.mark.parametrize(
    ("text", "role", "context", "case", "intervene"),
    [
        ("把钱退给我", "user", (), "needs_staff_now", True),
        ("早就跟你说过了", "operator", (), "needs_staff_now", True),
        ("二维码过期了", "user", (), "needs_after_sales", True),
        ("不弄了", "user", ctx(("staff", "@刘姐 扫一下码", 1)), "needs_staff_now", True),  # a refusal
        ("在的", "user", ctx(("staff", "@刘姐 扫一下码", 1)), "no_staff_needed", False),
        ("您好，重新发您了", "staff", ctx(("user", "二维码过期了", 5)), "staff_took_over", False),
        ("您好，重新发您了", "staff", ctx(("user", "收益在哪看？", 5)), "staff_took_over", False),  # a question
        ("您好，重新发您了", "staff", ctx(("user", "二维码过期了", 5), ("staff", "稍等", 3)), "no_staff_needed", False),
        ("您好，重新发您了", "staff", ctx(("user", "二维码过期了", 300)), "no_staff_needed", False),  # too old
        ("您好，重新发您了", "staff", ctx(("user", "大家早上好", 5)), "no_staff_needed", False),  # nothing open
        ("大家早上好", "user", (), "no_staff_needed", False),
    ],
)
def test_cases(
    rules: RuleSet, text: str, role: str, context: tuple[ContextMessage, ...], case: str, intervene: bool
) -> None:
    _, verdict = rules.understand(MessageInput(text, role, at=NOW, context=context))
    assert (verdict.case, verdict.should_intervene) == (case, intervene), verdict.reason


def test_an_open_alert_or_task_counts_as_an_open_item(rules: RuleSet) -> None:
    msg = MessageInput("您好，我来跟进", "staff", at=NOW)
    found = rules.engine.classify(msg)
    from bot.understanding.intervention import judge

    verdict = judge(msg, found, rules.intervention, rules.engine, open_elsewhere="alert #7")
    assert (verdict.case, verdict.reason) == ("staff_took_over", "回复用户 on alert #7")


def test_open_item_names_the_message(rules: RuleSet) -> None:
    item = open_item(ctx(("user", "大家好", 9), ("user", "二维码过期了", 4)), NOW, rules.intervention, rules.engine)
    assert item is not None
    assert item.text == "二维码过期了"


@pytest.mark.parametrize(
    ("text", "at_me", "private", "expected"),
    [
        ("二维码过期了", False, False, None),  # a group, not @-mentioned
        ("二维码过期了", True, False, "二维码5分钟有效，已通知小王重发"),
        ("二维码过期了", False, True, "二维码5分钟有效，已通知小王重发"),
        ("把钱退给我", False, False, "@号主A 抱歉，已通知小王处理"),  # holding reply: scope always
        ("大家早上好", True, False, None),
    ],
)
def test_reply_decisions(rules: RuleSet, text: str, at_me: bool, private: bool, expected: str | None) -> None:
    found, verdict = rules.understand(MessageInput(text, "user"))
    decision = decide_reply(
        text,
        "user",
        found,
        verdict,
        at_me=at_me,
        private=private,
        rules=rules.replies,
        variables={"sender": "号主A", "staff": "小王", "group": "客户群1"},
    )
    assert (decision.text if decision else None) == expected


def test_never_a_reply_to_staff_or_robots(rules: RuleSet) -> None:
    for role in ("staff", "robot", "operator"):
        found, verdict = rules.understand(MessageInput("二维码过期了", role))
        assert (
            decide_reply(
                "二维码过期了", role, found, verdict, at_me=True, private=True, rules=rules.replies, variables={}
            )
            is None
        )


def test_reply_quality_rewards_answers_politeness_and_speed() -> None:
    good = analyze_reply_quality("您好，二维码已经重新发您了，请在5分钟内扫码", "二维码过期了", latency_s=60)
    curt = analyze_reply_quality("嗯", "二维码过期了", latency_s=3600)
    rude = analyze_reply_quality("早说过了别自己改", "我改了简介", latency_s=60)
    assert good >= 80
    assert curt < 50
    assert rude < good
    assert analyze_reply_quality("") == 0


def test_staff_marking_an_item_handled_is_a_takeover(rules: RuleSet) -> None:
    context = ctx(("user", "把钱退给我", 5))
    _, verdict = rules.understand(MessageInput("这个我接手了", "staff", at=NOW, context=context))
    assert (verdict.case, verdict.reason) == ("staff_took_over", "marked '接手' to «把钱退给我»")
    _, idle = rules.understand(MessageInput("这个我接手了", "staff", at=NOW))
    assert idle.case == "no_staff_needed"  # nothing open: just staff talk
