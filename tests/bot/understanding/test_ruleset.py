"""Loading, self-testing and reloading rule sets; the engine's matching semantics on a small set."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.rules.loading import RuleFileError
from bot.understanding.engine import ContextMessage, MessageInput
from bot.understanding.ruleset import load_ruleset
from bot.understanding.store import RuleStore
from tests.bot.understanding.conftest import INTERVENTION, MESSAGE_TYPES, write_rules


def test_a_valid_set_loads_with_a_content_version(rules_dir: Path) -> None:
    first = load_ruleset(rules_dir)
    assert len(first.version) == 12
    assert load_ruleset(rules_dir).version == first.version
    (rules_dir / "replies.yaml").write_text((rules_dir / "replies.yaml").read_text() + "\n# note\n")
    assert load_ruleset(rules_dir).version != first.version


@pytest.mark.parametrize(
    ("file", "text", "where", "words"),
    [
        ("message_types_yaml", "types: [\n", "message_types.yaml:2", "invalid YAML"),
        (
            "message_types_yaml",
            MESSAGE_TYPES.replace("weight: 0.7}", "weight: 0.7, colour: red}"),
            "message_types.yaml:7",
            "colour",
        ),
        (
            "message_types_yaml",
            MESSAGE_TYPES.replace('"验证码.{0,6}', '"验证码(.{0,6}'),
            "message_types.yaml:15",
            "bad regex",
        ),
        (
            "message_types_yaml",
            MESSAGE_TYPES.replace("{text: 大家早上好}", "{text: 大家好啊}"),
            "message_types.yaml:9",
            "is chat_other, not chat_daily",
        ),
        (
            "intervention_yaml",
            INTERVENTION.replace("[chat_after_sales]}", "[chat_aftersales]}"),
            "intervention.yaml:3",
            "unknown message type 'chat_aftersales'",
        ),
        (
            "intervention_yaml",
            INTERVENTION.replace("expect: no_staff_needed", "expect: staff_took_over"),
            "intervention.yaml:10",
            "is no_staff_needed, not staff_took_over",
        ),
        (
            "replies_yaml",
            'faq:\n  - {name: x, phrases: [a], reply: "hi {user}"}\n',
            "replies.yaml:2",
            "unknown template variable",
        ),
    ],
)
def test_a_broken_file_is_refused_saying_where(tmp_path: Path, file: str, text: str, where: str, words: str) -> None:
    directory = write_rules(tmp_path / "rules", **{file: text})
    with pytest.raises(RuleFileError) as caught:
        load_ruleset(directory)
    message = str(caught.value)
    assert f"{directory}/{where}" in message, message
    assert words in message


async def test_reload_keeps_the_running_set_when_the_new_one_fails(rules_dir: Path) -> None:
    store = RuleStore(rules_dir)
    running = store.current.version
    (rules_dir / "message_types.yaml").write_text(MESSAGE_TYPES.replace("weight: 0.7}", "weight: 7}"))
    result = await store.reload("test")
    assert (result.applied, store.current.version) == (False, running)
    assert result.error is not None
    assert "message_types.yaml:7: types.0.rules.0.weight" in result.error
    (rules_dir / "message_types.yaml").write_text(MESSAGE_TYPES.replace("早上好, 晚上好", "早上好, 晚上好, 中午好"))
    result = await store.reload("test")
    assert result.applied
    assert result.diff == "chat_daily: rules 1→1"
    assert store.current.version != running
    assert store.current.engine.classify(MessageInput("中午好", "user")).type == "chat_daily"


async def test_the_watcher_picks_up_a_file_change(rules_dir: Path) -> None:
    store = RuleStore(rules_dir)
    before = store.current.version
    store.start_watching(interval_s=0.05)
    (rules_dir / "replies.yaml").write_text((rules_dir / "replies.yaml").read_text() + "\n# changed\n")
    import asyncio

    for _ in range(100):
        if store.current.version != before:
            break
        await asyncio.sleep(0.02)
    await store.stop()
    assert store.current.version != before


@pytest.mark.parametrize(
    ("text", "role", "context", "expected", "source"),
    [
        ("大家早上好", "user", (), "chat_daily", "rules"),
        ("二维码过期了怎么办", "user", (), "chat_after_sales", "rules"),
        ("已经扫了二维码", "user", (), "chat_other", "fallback"),  # the negative term stops the rule
        ("验证码一直收不到", "user", (), "chat_after_sales", "rules"),
        ("企业认证要什么材料", "user", (), "chat_after_sales", "rules"),  # a jieba token
        ("在的", "user", (ContextMessage("staff", "@刘姐 麻烦扫码"),), "chat_response", "context"),
        ("在的", "user", (ContextMessage("user", "@刘姐 麻烦扫码"),), "chat_other", "fallback"),  # not staff
        ("好的", "user", (), "chat_other", "fallback"),  # no @ before: not a response
        ("您好，我来跟进", "staff", (), "staff_reply_user", "rules"),
        ("您好，我来跟进", "manager", (), "staff_reply_user", "rules"),  # managers speak as staff
        ("早就跟你说过了", "operator", (), "operator_tone_hard", "rules"),
        ("早就跟你说过了", "user", (), "chat_other", "fallback"),  # operator rules do not apply to users
    ],
)
def test_engine_semantics(
    rules_dir: Path, text: str, role: str, context: tuple[ContextMessage, ...], expected: str, source: str
) -> None:
    found = load_ruleset(rules_dir).engine.classify(MessageInput(text, role, context=context))
    assert (found.type, found.source) == (expected, source), found.reason


def test_response_needs_the_at_to_name_the_sender_when_known(rules_dir: Path) -> None:
    engine = load_ruleset(rules_dir).engine
    at_liu = (ContextMessage("staff", "@刘姐 麻烦扫码"),)
    assert engine.classify(MessageInput("在的", "user", "刘姐", context=at_liu)).type == "chat_response"
    assert engine.classify(MessageInput("在的", "user", "老王", context=at_liu)).type == "chat_other"


def test_confidence_and_reason(rules_dir: Path) -> None:
    engine = load_ruleset(rules_dir).engine
    both = engine.classify(MessageInput("二维码的验证码收不到", "user"))
    assert both.confidence == pytest.approx(0.96)  # 1 - 0.2 * 0.2: two rules agree
    assert "chat_after_sales.扫码 matched '二维码'" in both.reason
    disputed = engine.classify(MessageInput("二维码是骗人的吧", "user"))
    assert disputed.type == "chat_complaint"
    assert disputed.confidence < 0.9  # the after-sales rule also fired
    assert "also chat_after_sales" in disputed.reason
