"""The text of an alert notification: one alert or a digest of several for one recipient. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.alerts.channels.base import AlertDigest


@dataclass(frozen=True)
class AlertLine:
    alert_id: int
    level: int
    level_name: str
    title: str
    where: str  # the conversation's name, or the robot
    subject: str
    detail: str
    opened_at: datetime
    occurrences: int


def _excerpt(text: str, size: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size] + "…"


def _age(opened_at: datetime, now: datetime) -> str:
    minutes = max(0, int((now - opened_at).total_seconds() // 60))
    return f"{minutes} 分钟" if minutes < 120 else f"{minutes // 60} 小时"


def _head(line: AlertLine) -> str:
    where = f" · {line.where}" if line.where else ""
    who = f" · {line.subject}" if line.subject and line.subject != line.where else ""
    return f"{line.title}{where}{who}"


def build_digest(lines: Sequence[AlertLine], now: datetime, tz: ZoneInfo) -> AlertDigest:
    """Highest level first; each alert with its id, so a reply `已处理 #id` / `接手 #id` can close it."""
    ordered = sorted(lines, key=lambda line: (-line.level, line.alert_id))
    top = ordered[0]
    what = _head(top) if len(ordered) == 1 else f"{len(ordered)} 条告警待处理"
    title = f"【{top.level_name}】{what}"
    text_parts, md_parts = [title], [f"## {title}"]
    for line in ordered:
        opened = line.opened_at.astimezone(tz).strftime("%H:%M")
        again = f"，第 {line.occurrences} 次" if line.occurrences > 1 else ""
        said = f"：「{_excerpt(line.detail)}」" if line.detail else ""
        since = f"{opened} 起，已 {_age(line.opened_at, now)}{again}"
        text_parts.append(f"#{line.alert_id} L{line.level} {_head(line)}{said}（{since}）")
        badge = f'<font color="warning">L{line.level} {line.level_name}</font>'
        md_parts.append(f"> **#{line.alert_id}** {badge} {_head(line)}{said}\n> {since}")
    ids = " ".join(f"#{line.alert_id}" for line in ordered)
    hint = f"回复「已处理 {ids}」关闭，或「接手 {ids}」认领"
    text_parts.append(hint)
    md_parts.append(hint)
    return AlertDigest(
        alert_ids=tuple(line.alert_id for line in ordered),
        level=top.level,
        level_name=top.level_name,
        title=title,
        text="\n".join(text_parts),
        markdown="\n".join(md_parts),
    )
