"""Risk control: text checks, splitting, the per-robot gap and budget, the per-group cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.pacing import (
    OutgoingRefused,
    RobotSends,
    check_text,
    group_cap_wait,
    jitter_fraction,
    next_send_at,
    split_text,
)
from bot.settings import PacingSettings

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PACING = PacingSettings(min_gap_s=3, jitter_s=2, per_minute=4)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty_text"),
        ("   \n", "empty_text"),
        ("您好，我是AI助手，很高兴为您服务", "banned_phrase"),
        ("作为一个ai，我不能……", "banned_phrase"),  # case-insensitive
    ],
)
def test_check_text_refuses(text: str, error: str) -> None:
    with pytest.raises(OutgoingRefused) as caught:
        check_text(text, ("我是AI", "作为一个AI"))
    assert caught.value.error == error


def test_check_text_lets_ordinary_replies_through() -> None:
    check_text("您好，二维码已经重新发您了，请在5分钟内扫码", ("我是AI", "机器人"))


def test_split_prefers_paragraphs_then_sentences() -> None:
    text = "第一段第一句。第一段第二句。\n\n第二段很短。"
    assert split_text(text, 16) == ["第一段第一句。第一段第二句。", "第二段很短。"]
    assert split_text("甲乙丙。丁戊己。庚辛壬。", 9) == ["甲乙丙。丁戊己。", "庚辛壬。"]


def test_split_cuts_hard_when_there_is_no_break() -> None:
    assert split_text("一" * 25, 10) == ["一" * 10, "一" * 10, "一" * 5]


def test_short_text_is_one_part() -> None:
    assert split_text("  好的  ", 10) == ["好的"]


@given(st.text(alphabet="一二三。，\n ab", min_size=1, max_size=400), st.integers(min_value=20, max_value=120))
def test_split_keeps_every_character_and_the_limit(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_first_send_is_immediate() -> None:
    assert next_send_at(RobotSends(None, None, []), NOW, PACING) == NOW


def test_gap_with_jitter_is_stable_for_the_same_gap() -> None:
    sends = RobotSends(41, NOW - timedelta(seconds=1), [NOW - timedelta(seconds=1)])
    due = next_send_at(sends, NOW, PACING)
    gap = (due - (NOW - timedelta(seconds=1))).total_seconds()
    assert 3 <= gap < 5
    assert gap == pytest.approx(3 + 2 * jitter_fraction(41))
    assert next_send_at(sends, NOW + timedelta(milliseconds=500), PACING) == due  # re-evaluation agrees


def test_jitter_differs_between_gaps() -> None:
    assert len({round(jitter_fraction(i), 6) for i in range(1, 20)}) > 15


def test_per_minute_budget_waits_for_the_oldest_send_to_leave_the_window() -> None:
    times = [NOW - timedelta(seconds=s) for s in (50, 40, 30, 20)]
    due = next_send_at(RobotSends(7, times[-1], times), NOW, PACING)
    assert due == NOW + timedelta(seconds=10)  # the send at -50 s leaves the minute at +10 s


def test_group_cap() -> None:
    sent = [NOW - timedelta(seconds=s) for s in (70, 45, 10)]
    assert group_cap_wait(sent, NOW, cap=3) is None  # the one at -70 s is outside the minute
    assert group_cap_wait(sent, NOW, cap=2) == pytest.approx(15.0)
