"""Rendering the figures: WeCom markdown within 4096 bytes, the robot's text, the escaped HTML page."""

from __future__ import annotations

from datetime import date

import pytest

from bot.reports.daily import DailyFigures, StaffFigures, summarise
from bot.reports.render import MARKDOWN_MAX_BYTES, TEXT_MAX_CHARS, duration, render_html, render_markdown, render_text
from tests.bot.reports.seed import SHANGHAI
from tests.bot.reports.test_daily import ALERTS, COMMANDS, COMPLAINTS, ROBOTS, TASKS

DAY = date(2026, 11, 19)


def figures() -> DailyFigures:
    return summarise(DAY, SHANGHAI, tasks=TASKS, alerts=ALERTS, commands=COMMANDS, robots=ROBOTS, complaints=COMPLAINTS)


def crowded(staff: int) -> DailyFigures:
    """The same day with `staff` more people, each with a long name."""
    base = figures()
    extra: list[StaffFigures] = [
        {
            "name": f"售后专员第{n:03d}号（夜班支援组）",
            "assigned": 3,
            "completed": 2,
            "open": 1,
            "avg_completion_s": 3700.0,
            "avg_follow_up_s": 65.0,
        }
        for n in range(staff)
    ]
    return {**base, "staff": base["staff"] + extra}


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "—"),
        (0.4, "0.4秒"),
        (2.25, "2.2秒"),
        (59.96, "1分钟"),
        (45, "45秒"),
        (300, "5分钟"),
        (330, "5分30秒"),
        (3600, "1小时"),
        (7500, "2小时5分"),
        (198000, "2天7小时"),
        (86400, "1天"),
    ],
)
def test_duration(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_markdown_shows_the_figures() -> None:
    text = render_markdown(figures())
    lines = text.splitlines()
    assert lines[0] == "## 售后日报 · 2026-11-19"
    assert "> 新建 5 · 完成 3 · 取消 1 · 日终未完成 4 · 超时 1" in lines
    assert "> 完成率 40.0%（当日新建 5 单中当日完成 2 单）" in lines
    assert "> 平均分配用时 4分30秒 · 平均用户响应 3分钟 · 平均完成用时 19小时20分" in lines
    assert "> 小王：分配 2 · 完成 3 · 未完成 0 · 平均完成 19小时20分 · 平均跟进 11分30秒" in lines
    assert "> 高 1 · 中 1 · 低 1 · 未知 2" in lines
    assert "> 类型：投诉未处理 2 · 售后任务超时 1 · 号主拒绝配合 1" in lines
    assert "> 最高级别：信息告警 2 · 警告告警 1 · 严重告警 0 · 紧急告警 1" in lines
    assert "> 1. 客户群2：5 条" in lines
    assert "…另有" not in text


def test_markdown_cuts_the_longest_list_to_fit_wecoms_limit() -> None:
    text = render_markdown(crowded(200))
    assert len(text.encode("utf-8")) <= MARKDOWN_MAX_BYTES
    assert "> 小王：" in text  # the first rows stay
    cut = [line for line in text.splitlines() if line.startswith("> …另有 ")]
    assert len(cut) == 1
    shown = sum(1 for line in text.splitlines() if line.startswith("> 售后专员第"))
    assert cut[0] == f"> …另有 {202 - 2 - shown} 项"  # 202 people, 小王 and 小李 shown first
    assert "**投诉最多的会话**" in text  # the sections after the list are all there
    assert text.endswith("> 5. 客户群4：1 条")


def test_text_for_the_robot_is_plain_and_short() -> None:
    text = render_text(crowded(50))
    assert len(text) <= TEXT_MAX_CHARS
    assert text.startswith("【售后日报】2026-11-19")
    assert "**" not in text
    assert "> " not in text
    assert "…另有 " in text


def test_html_is_a_standalone_escaped_page() -> None:
    base = figures()
    hostile: DailyFigures = {
        **base,
        "top_complaints": [{"conversation_id": 9, "name": "<script>alert(1)</script>群", "complaints": 2}],
    }
    page = render_html(hostile)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in page
    assert "<style>" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;群" in page
    assert "<h1>售后日报 · 2026-11-19</h1>" in page
    assert '<td>小王</td><td class="n">2</td><td class="n">3</td>' in page
    assert "<td>完成率（当日新建中当日完成）</td><td>40.0%</td>" in page
