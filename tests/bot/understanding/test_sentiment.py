"""Negative evidence and the dissatisfaction/praise lexicon (issue 17), on the shipped rules."""

from __future__ import annotations

import pytest

from bot.understanding.engine import Engine, MessageInput
from bot.understanding.ruleset import RuleSet, load_ruleset
from tests.conftest import REPO


@pytest.fixture(scope="module")
def shipped() -> RuleSet:
    return load_ruleset(REPO / "rules")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # terse, product-review style complaints: the words the old rules did not know
        ("质量太差了", "chat_complaint"),
        ("垃圾，再也不买了", "chat_complaint"),
        ("发货慢得离谱", "chat_complaint"),
        ("客服态度真差", "chat_complaint"),
        ("不满意", "chat_complaint"),
        ("号被你们弄限流了", "chat_complaint"),
        # praise, also with negated negatives
        ("挺好用的，推荐", "chat_daily"),
        ("一点都不差", "chat_daily"),
        ("不错，没让我失望", "chat_daily"),
        # a negation that is a question or a demand does not flip: still complaints
        ("天天让我扫码，你们是不是骗子，把钱退给我", "chat_complaint"),
        ("别再敷衍我了，给个准话", "chat_complaint"),
        # jieba: 差 inside another word is no dissatisfaction; grumbling about the numbers is not a complaint
        ("差不多了", "chat_daily"),
        ("播放量太差了，心累", "chat_complain_discuss"),
    ],
)
def test_sentiment_decides_the_type(shipped: RuleSet, text: str, expected: str) -> None:
    found = shipped.engine.classify(MessageInput(text, "user"))
    assert found.type == expected, found.reason


def test_the_reason_says_what_counted_for_and_against(shipped: RuleSet) -> None:
    found = shipped.engine.classify(MessageInput("发货慢得离谱", "user"))
    assert "dissatisfaction '慢' (intensified)" in found.reason
    praised = shipped.engine.classify(MessageInput("服务很周到，没毛病，太过分了吧这么好", "user"))
    assert praised.type == "chat_daily", praised.reason
    assert "praise" in praised.reason
    assert "chat_complaint" in praised.reason  # the runner-up, lowered by the praise
    lowered = shipped.engine.classify(MessageInput("你们客服太差了", "user"))
    assert lowered.type == "chat_complaint"
    assert "at '你们'" in lowered.reason or "at '客服'" in lowered.reason


def test_praise_counts_against_complaint(shipped: RuleSet) -> None:
    """The same complaint clue scores lower next to clear praise."""
    plain = shipped.engine.classify(MessageInput("这服务", "user"))
    praised = shipped.engine.classify(MessageInput("这服务没得说，好评", "user"))
    assert plain.type == "chat_complaint"
    assert praised.type == "chat_daily"
    assert "against" not in plain.reason


def test_a_verdict_on_the_work_counts_against_work_talk(shipped: RuleSet) -> None:
    """Dissatisfaction lowers chat_cooperation (negative_lowers): a verdict on the work we deliver is a complaint,
    and the reason says what lowered the work talk; asking or proposing about the same work stays work talk."""
    verdict = shipped.engine.classify(MessageInput("字幕跟不上画面", "user"))
    assert verdict.type == "chat_complaint", verdict.reason
    assert "also chat_cooperation" in verdict.reason  # still a clue, lowered below the complaint
    rules = shipped.message_types
    assert rules.sentiment is not None
    unlowered = rules.model_copy(update={"sentiment": rules.sentiment.model_copy(update={"negative_lowers": ()})})
    plain = Engine(unlowered).classify(MessageInput("字幕跟不上画面", "user"))
    assert plain.type == "chat_cooperation", plain.reason  # without it, the word 字幕 decides
    for text in ("脚本能不能简单点，太长了", "我感觉这条拍得不太好，要不要重拍", "这周的任务我完成了两条，还差一条"):
        asked = shipped.engine.classify(MessageInput(text, "user"))
        assert asked.type == "chat_cooperation", (text, asked.reason)
