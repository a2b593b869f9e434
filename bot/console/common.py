"""What every console page shares: the guard (an account's role, as the API's), rendering with the base
context, Chinese labels, times in the business time zone, and keyset pagination."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from bot.accounts.session import SessionAccount, csrf_token, session_account
from bot.api.auth import ROLE_RANK
from bot.api.params import parse_id
from bot.keys import CLOCK, SETTINGS
from bot.settings import ApiRole

CONSOLE_ROLE: Final = "hub_console_role"  # set on guarded pages (a test checks every console route has it)
ACCOUNT: Final = web.RequestKey("console_account", SessionAccount)
PAGE_SIZE: Final = 50
ROLE_LABEL: Final = {"staff": "客服", "manager": "主管", "admin": "管理员"}

# Where each page sits in the navigation, and the least role that sees it (the API's rule for its data).
NAV: Final = (
    ("/board", "售后实时监控大屏", "staff"),
    ("/alerts", "告警管理", "staff"),
    ("/conversations/group", "社群会话", "staff"),
    ("/conversations/private", "用户会话", "staff"),
    ("/robots", "机器人", "staff"),
    ("/reports", "每日售后报告", "manager"),
    ("/rules", "规则", "staff"),
)

H = TypeVar("H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def allowed(account: SessionAccount, role: str) -> bool:
    return ROLE_RANK.get(account.role, 0) >= ROLE_RANK[role]


def page(role: ApiRole) -> Callable[[H], H]:
    """Decorator: the page needs a logged-in account of at least `role` (the API's role for the same data).

    Not logged in: to the login page, coming back here afterwards. Too low a role: a 403 page that says
    which role it needs."""

    def wrap(handler: H) -> H:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            account = await session_account(request)
            if account is None:
                if request.method != "GET":
                    return await error_page(request, 401, "登录已过期，请重新登录")
                raise web.HTTPFound(f"/login?{urlencode({'next': request.path_qs})}")
            request[ACCOUNT] = account
            if account.must_change_password:
                raise web.HTTPFound("/password")  # the one-time password from `hub users add/reset`
            if not allowed(account, role):
                return await error_page(request, 403, f"此页面需要「{ROLE_LABEL[role]}」及以上角色")
            return await handler(request)

        setattr(guarded, CONSOLE_ROLE, role)
        return guarded  # type: ignore[return-value]

    return wrap


def account_of(request: web.Request) -> SessionAccount:
    return request[ACCOUNT]


async def base_context(request: web.Request) -> dict[str, Any]:
    account = request.get(ACCOUNT)
    nav = [(href, label) for href, label, role in NAV if account is not None and allowed(account, role)]
    return {
        "account": account,
        "role_label": ROLE_LABEL.get(account.role, account.role) if account is not None else "",
        "csrf": await csrf_token(request) if account is not None else "",
        "nav": nav,
        "path": request.path,
        "timezone": request.app[SETTINGS].timezone,  # times shown by the page's script: the business zone too
    }


async def render(request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200) -> web.Response:
    """A page (or an htmx fragment) with the base context; jinja2 escapes every value (autoescape on)."""
    full = {**await base_context(request), **context}
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def error_page(request: web.Request, status: int, message: str) -> web.Response:
    return await render(request, "error.html", {"status": status, "message": message}, status=status)


# -- time ------------------------------------------------------------------------------------------------


def zone(request: web.Request) -> ZoneInfo:
    return ZoneInfo(request.app[SETTINGS].timezone)


def now(request: web.Request) -> datetime:
    return request.app[CLOCK].now()


def today_window(request: web.Request) -> tuple[datetime, datetime]:
    """[local 00:00 today, local 00:00 tomorrow) in UTC."""
    tz = zone(request)
    day = now(request).astimezone(tz).date()
    start = datetime.combine(day, time(0), tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def local_day(request: web.Request) -> date:
    return now(request).astimezone(zone(request)).date()


@dataclass(frozen=True)
class Clock:
    """Formats times for the pages: in the business time zone, short."""

    tz: ZoneInfo
    today: date

    def __call__(self, value: datetime | None, *, seconds: bool = False) -> str:
        if value is None:
            return "—"
        local = value.astimezone(self.tz)
        form = "%H:%M:%S" if seconds else "%H:%M"
        return local.strftime(form) if local.date() == self.today else local.strftime(f"%m-%d {form}")


def clock(request: web.Request) -> Clock:
    return Clock(zone(request), local_day(request))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60}秒"
    if s < 86400:
        return f"{s // 3600}小时{s % 3600 // 60}分"
    return f"{s // 86400}天{s % 86400 // 3600}小时"


# -- paging ----------------------------------------------------------------------------------------------


def before_param(request: web.Request) -> int | None:
    """`?before=<id>`: the page of rows older than that id (keyset paging: no OFFSET, no COUNT)."""
    raw = request.query.get("before")
    return parse_id(raw) if raw else None


def next_before(rows: list[Any], size: int) -> int | None:
    """The id to ask for the next page with (rows were fetched with size+1), or None on the last page."""
    return int(rows[size - 1].id) if len(rows) > size else None


# -- labels ----------------------------------------------------------------------------------------------

TASK_STATUS: Final = {
    "pending": "待分配",
    "assigned": "已分配",
    "waiting_user": "等待用户",
    "in_progress": "处理中",
    "completed": "已完成",
    "cancelled": "已取消",
}
RESPONSE: Final = {"pending": "等待中", "responded": "已回应", "refused": "拒绝", "timeout": "超时未回"}
PRIORITY: Final = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}
ALERT_STATUS: Final = {"open": "进行中", "cancelled": "已关闭"}
NOTIFICATION_STATUS: Final = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "delivered": "已送达",
    "failed": "失败",
    "unknown": "结果未知",
    "skipped": "已跳过",
}
CHANNEL: Final = {
    "wecom_app": "企业微信应用",
    "wecom_webhook": "群机器人",
    "worktool_group": "机器人群消息",
    "group_reminder": "群内提醒",
    "phone": "电话",
    "sms": "短信",
}
EVENT_ACTION: Final = {
    "opened": "创建",
    "recurred": "再次触发",
    "escalated": "升级",
    "cancelled": "关闭",
    "claimed": "认领",
}
ROLE_OF_SENDER: Final = {"user": "用户", "staff": "客服", "manager": "主管", "operator": "运营", "robot": "机器人"}
COMMAND_STATUS: Final = {"queued": "排队", "sent": "已发送", "succeeded": "成功", "failed": "失败", "unknown": "未知"}
HEALTH_STATUS: Final = {"excellent": "优秀", "good": "良好", "warning": "警告", "critical": "严重"}
