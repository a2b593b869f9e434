"""Whom a staff or operator message addresses, and that only the user with the open item counts as a
takeover (issue 17), on the shipped rules and people.yaml."""

from __future__ import annotations

import pytest

from bot.understanding.addressee import split_quote
from bot.understanding.engine import ContextMessage, MessageInput
from bot.understanding.ruleset import RuleSet, load_ruleset
from tests.conftest import REPO

COMPLAINT = (ContextMessage("user", "质量太差了", sender="刘姐"),)


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_ruleset(REPO / "rules")


@pytest.mark.parametrize(
    ("text", "who", "addressee"),
    [
        ("小王，下午的周会材料整理一下发我", "刘姐", "staff"),  # the case: an alias from people.yaml
        ("@售后小李 系统账号过期了，找IT续一下", "刘姐", "staff"),
        ("这个表你改一下，张经理", "刘姐", "staff"),
        ("例会改到四点了", "刘姐", "staff"),  # an internal matter
        ("@王哥 明天记得交视频", "刘姐", "other_user"),
        ("@王哥 明天记得交视频", "", "user"),  # the open item's sender is unknown: assume it is them
        ("「王哥：快递到了吗」\n- - - -\n明天到", "刘姐", "other_user"),
        ("「刘姐：质量太差了」\n- - - -\n抱歉，我看看", "刘姐", "user"),
        ("各位老师，今晚系统维护", "刘姐", "group"),
        ("刘姐，样品给您补寄了", "刘姐", "user"),
        ("@小李 @刘姐 这个问题我来跟进", "刘姐", "user"),
        ("非常抱歉，样品今天寄出", "刘姐", "nobody"),
    ],
)
def test_addressee(shipped: RuleSet, text: str, who: str, addressee: str) -> None:
    finder = shipped.engine.addressing
    assert finder is not None
    assert finder.find(text, who).addressee == addressee


def test_a_remark_to_a_colleague_never_takes_over_and_is_staff_other(shipped: RuleSet) -> None:
    for role, text in (
        ("manager", "小王，下午的周会材料整理一下发我"),
        ("manager", "@小李 这个客户你接手一下"),  # a handled phrase, but to a colleague
        ("operator", "@小王 刘姐那边样品寄了没"),
    ):
        found, verdict = shipped.understand(MessageInput(text, role, "张经理", None, COMPLAINT))
        assert verdict.case == "no_staff_needed", (text, verdict.reason)
        assert found.type in ("staff_other", "operator_other"), found.reason
        assert "colleague" in found.reason
    # an open alert elsewhere (no item in the context) is not cancelled by a remark either
    _, verdict = shipped.understand(MessageInput("@小李 下午三点开会别忘了", "staff"), open_elsewhere="alert 7")
    assert verdict.case == "no_staff_needed"


def test_an_answer_to_the_user_still_takes_over(shipped: RuleSet) -> None:
    for text in ("@刘姐 抱歉，新的样品今天寄出", "刘姐，单号私信您了", "非常抱歉，样品今天下午已经寄出"):
        _, verdict = shipped.understand(MessageInput(text, "staff", "售后小王", None, COMPLAINT))
        assert verdict.case == "staff_took_over", (text, verdict.reason)
    _, verdict = shipped.understand(MessageInput("@王哥 明天记得交视频", "staff", "售后小王", None, COMPLAINT))
    assert verdict.case == "no_staff_needed"
    assert "not to the user" in verdict.reason


def test_split_quote() -> None:
    assert split_quote("「刘姐：码过期了」\n- - - - - -\n新码发您了") == ("刘姐", "新码发您了")
    assert split_quote("新码发您了") == (None, "新码发您了")
