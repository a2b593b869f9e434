"""The daily report as WeCom markdown (the group robot webhook), plain text (our robot in the managers'
group: WeCom chat does not render markdown) and a standalone HTML page. Pure: figures in, text out.

WeCom refuses webhook markdown over 4096 bytes, so the markdown (and the robot's text, kept short so it
goes out as few messages) drops entries from the end of its longest list — staff, robots, conversations —
until it fits, saying how many were left out ("…另有 3 项").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Final

from bot.alerts.channels.common import clip_utf8
from bot.reports.daily import DailyFigures, RobotFigures, StaffFigures, TaskFigures
from bot.rules.alerts import DEFAULT_KINDS, DEFAULT_LEVELS

MARKDOWN_MAX_BYTES: Final = 4096  # WeCom group robot markdown limit
TEXT_MAX_CHARS: Final = 1500  # our robot's message: at most two parts of 800 characters
COOPERATION: Final = {"high": "高", "medium": "中", "low": "低", "unknown": "未知"}
RESPONSE: Final = {"responded": "已回应", "refused": "拒绝", "timeout": "超时未回", "pending": "等待中"}
OUTCOME: Final = {
    "staff_intervened": "人工介入",
    "user_responded": "用户已回应",
    "resolved": "已解决",
    "manual": "手动关闭",
    "expired": "过期",
    "open": "仍未关闭",
}
COMMAND: Final = {"queued": "排队", "sent": "已发送", "succeeded": "成功", "failed": "失败", "unknown": "未知"}
LEVEL: Final = {str(level.level): level.name for level in DEFAULT_LEVELS}
KIND: Final = {kind: policy.title for kind, policy in DEFAULT_KINDS.items()}
LISTS: Final = ("staff", "robots", "top_complaints")


def duration(seconds: float | None) -> str:
    """2.5秒, 5分30秒, 2小时5分, 1天3小时; — when there is nothing to show."""
    if seconds is None:
        return "—"
    if seconds < 59.95:
        return f"{round(seconds, 1):g}秒"
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    days, hours = divmod(hours, 24)
    return f"{days}天{hours}小时" if hours else f"{days}天"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def counts(values: Mapping[str, int], labels: Mapping[str, str]) -> str:
    return " · ".join(f"{labels.get(key, key)} {n}" for key, n in values.items()) or "无"


def online(value: bool | None) -> str:
    return "在线" if value else "未知" if value is None else "离线"


def staff_line(row: StaffFigures) -> str:
    return (
        f"{row['name']}：分配 {row['assigned']} · 完成 {row['completed']} · 未完成 {row['open']}"
        f" · 平均完成 {duration(row['avg_completion_s'])} · 平均跟进 {duration(row['avg_follow_up_s'])}"
    )


def robot_line(row: RobotFigures) -> str:
    done = {k: n for k, n in row["commands"].items() if n}
    return (
        f"{row['name']}（{online(row['online'])}）：指令 {row['commands_total']}"
        + (f"（{counts(done, COMMAND)}）" if done else "")
        + f" · 平均耗时 {duration(row['avg_time_cost_s'])} · 累计未知结果 {row['unknown_results_total']}"
    )


def task_lines(tasks: TaskFigures) -> tuple[str, ...]:
    volume = (
        f"新建 {tasks['created']} · 完成 {tasks['completed']} · 取消 {tasks['cancelled']}"
        f" · 日终未完成 {tasks['open']} · 超时 {tasks['overdue']}"
    )
    rate = (
        f"完成率 {pct(tasks['completion_rate_pct'])}"
        f"（当日新建 {tasks['created']} 单中当日完成 {tasks['created_and_completed']} 单）"
    )
    times = (
        f"平均分配用时 {duration(tasks['avg_assignment_s'])}"
        f" · 平均用户响应 {duration(tasks['avg_user_response_s'])}"
        f" · 平均完成用时 {duration(tasks['avg_completion_s'])}"
    )
    return volume, rate, times


@dataclass(frozen=True)
class Section:
    heading: str
    lines: tuple[str, ...]


def sections(figures: DailyFigures, limits: Mapping[str, int]) -> list[Section]:
    """The report as headed groups of lines; `limits` caps the staff / robots / conversations lists."""
    tasks, alerts = figures["tasks"], figures["alerts"]

    def listed(name: str, lines: list[str]) -> tuple[str, ...]:
        shown = lines[: limits.get(name, len(lines))]
        more = len(lines) - len(shown)
        return (*shown, f"…另有 {more} 项") if more else tuple(shown) or ("无",)

    complaints = [f"{n}. {c['name']}：{c['complaints']} 条" for n, c in enumerate(figures["top_complaints"], start=1)]
    return [
        Section("任务", task_lines(tasks)),
        Section("客服", listed("staff", [staff_line(row) for row in figures["staff"]])),
        Section("用户配合度", (counts(figures["cooperation"], COOPERATION),)),
        Section("用户响应", (counts(figures["user_response"], RESPONSE),)),
        Section(
            f"告警（共 {alerts['opened']} 条）",
            (
                f"类型：{counts(alerts['by_kind'], KIND)}",
                f"最高级别：{counts(alerts['by_max_level'], LEVEL)}",
                f"结果：{counts(alerts['by_outcome'], OUTCOME)}",
            ),
        ),
        Section("机器人", listed("robots", [robot_line(row) for row in figures["robots"]])),
        Section("投诉最多的会话", listed("top_complaints", complaints)),
    ]


def _markdown(figures: DailyFigures, limits: Mapping[str, int]) -> str:
    out = [f"## 售后日报 · {figures['day']}"]
    for section in sections(figures, limits):
        out.append(f"\n**{section.heading}**")  # the blank line ends the quote block above
        out.extend(f"> {line}" for line in section.lines)
    return "\n".join(out)


def _text(figures: DailyFigures, limits: Mapping[str, int]) -> str:
    out = [f"【售后日报】{figures['day']}"]
    for section in sections(figures, limits):
        out.append(f"\n【{section.heading}】")
        out.extend(section.lines)
    return "\n".join(out)


def _fit(
    figures: DailyFigures,
    build: Callable[[DailyFigures, Mapping[str, int]], str],
    size: Callable[[str], int],
    most: int,
) -> str:
    """Build with full lists, then drop the last entry of the longest list until it is small enough."""
    limits = {
        "staff": len(figures["staff"]),
        "robots": len(figures["robots"]),
        "top_complaints": len(figures["top_complaints"]),
    }
    while True:
        text = build(figures, limits)
        longest = max(LISTS, key=lambda name: limits[name])
        if size(text) <= most or limits[longest] == 0:
            return text
        limits[longest] -= 1


def render_markdown(figures: DailyFigures, max_bytes: int = MARKDOWN_MAX_BYTES) -> str:
    """WeCom markdown within `max_bytes` (UTF-8)."""
    text = _fit(figures, _markdown, lambda s: len(s.encode("utf-8")), max_bytes)
    return clip_utf8(text, max_bytes)  # only if the fixed part alone is too long (absurd names)


def render_text(figures: DailyFigures, max_chars: int = TEXT_MAX_CHARS) -> str:
    """Plain text for our robot in the managers' group."""
    text = _fit(figures, _text, len, max_chars)
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


# -- HTML ----------------------------------------------------------------------------------------------

CSS: Final = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:24px;color:#222}"
    "h1{font-size:22px}h2{font-size:17px;margin-top:24px}"
    "table{border-collapse:collapse;margin:8px 0}"
    "th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}"
    "th{background:#f3f5f7}td.n{text-align:right}"
    ".meta{color:#777;font-size:13px}"
)


def _cell(value: object) -> str:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return f'<td class="n">{value}</td>' if numeric else f"<td>{escape(str(value))}</td>"


def _table(headers: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}">无</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pairs(values: Mapping[str, int], labels: Mapping[str, str], header: str) -> str:
    return _table((header, "数量"), [(labels.get(k, k), n) for k, n in values.items()])


def render_html(figures: DailyFigures) -> str:
    """A standalone page (inline CSS, every text escaped)."""
    tasks, alerts = figures["tasks"], figures["alerts"]
    overview = [
        ("新建任务", tasks["created"]),
        ("当日完成", tasks["completed"]),
        ("当日取消", tasks["cancelled"]),
        ("日终未完成", tasks["open"]),
        (f"超时（未完成超过 {figures['overdue_hours']:g} 小时）", tasks["overdue"]),
        ("完成率（当日新建中当日完成）", pct(tasks["completion_rate_pct"])),
        ("平均分配用时", duration(tasks["avg_assignment_s"])),
        ("平均用户响应时间", duration(tasks["avg_user_response_s"])),
        ("平均完成用时", duration(tasks["avg_completion_s"])),
    ]
    staff = [
        (
            r["name"],
            r["assigned"],
            r["completed"],
            r["open"],
            duration(r["avg_completion_s"]),
            duration(r["avg_follow_up_s"]),
        )
        for r in figures["staff"]
    ]
    robots = [
        (
            r["name"],
            r["id"],
            online(r["online"]),
            r["commands_total"],
            counts({k: n for k, n in r["commands"].items() if n}, COMMAND),
            duration(r["avg_time_cost_s"]),
            r["unknown_results_total"],
        )
        for r in figures["robots"]
    ]
    complaints = [(n, c["name"], c["complaints"]) for n, c in enumerate(figures["top_complaints"], start=1)]
    day = escape(figures["day"])
    span = f"{escape(figures['start'])} 至 {escape(figures['end'])}（{escape(figures['timezone'])}）"
    meta = f'<p class="meta">统计区间 {span}</p>'
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>售后日报 {day}</title><style>{CSS}</style></head><body>",
        f"<h1>售后日报 · {day}</h1>",
        meta,
        "<h2>任务概览</h2>",
        _table(("指标", "数值"), list(overview)),
        "<h2>客服</h2>",
        _table(("客服", "分配", "完成", "未完成", "平均完成用时", "平均跟进用时"), list(staff)),
        "<h2>用户配合度</h2>",
        _pairs(figures["cooperation"], COOPERATION, "配合度"),
        "<h2>用户响应</h2>",
        _pairs(figures["user_response"], RESPONSE, "响应状态"),
        f"<h2>告警（共 {alerts['opened']} 条）</h2>",
        _pairs(alerts["by_kind"], KIND, "类型"),
        _pairs(alerts["by_max_level"], LEVEL, "最高级别"),
        _pairs(alerts["by_outcome"], OUTCOME, "结果"),
        "<h2>机器人</h2>",
        _table(("机器人", "ID", "状态", "当日指令", "指令结果", "平均耗时", "累计未知结果"), list(robots)),
        "<h2>投诉最多的会话</h2>",
        _table(("排名", "会话", "投诉消息"), list(complaints)),
        "</body></html>",
    ]
    return "\n".join(parts)
