"""The console's pages through the real app: login, every page per role (the API's rules), escaping,
the alert forms (CSRF, actor, roles), CSV export."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.accounts.session import CONSOLE
from bot.app import create_app
from bot.clock import FrozenClock
from bot.console.common import CONSOLE_ROLE
from models.alerts import Alert, AlertEvent, AlertStatus
from tests.console.conftest import (
    PASSWORD,
    add_accounts,
    add_alert,
    add_conversation,
    add_message,
    console_settings,
    csrf_of,
    log_in,
)

Client = TestClient[Any, Any]
STAFF_PAGES = ("/board", "/alerts", "/conversations/group", "/conversations/private", "/robots", "/rules")


def test_every_console_route_is_guarded_by_a_role(tmp_path: Path) -> None:
    app = create_app(console_settings("sqlite://unused.sqlite3", "redis://127.0.0.1:1/0", tmp_path))  # not started
    unguarded = set()
    for route in app.router.routes():
        name = route.name or ""
        if name.startswith("console.") and route.resource and not hasattr(route.handler, CONSOLE_ROLE):
            unguarded.add(route.resource.canonical)
    assert unguarded == {"/", "/login", "/password", "/logout"}  # everything else needs an account and a role
    assert any(hasattr(route.handler, CONSOLE_ROLE) for route in app.router.routes())


async def test_pages_need_a_login_then_the_apis_role(console: Client) -> None:
    home = await console.get("/", allow_redirects=False)
    assert (home.status, home.headers["Location"]) == (302, "/login")
    for path in (*STAFF_PAGES, "/reports"):
        answer = await console.get(path, allow_redirects=False)
        assert answer.status == 302, path
        assert answer.headers["Location"].startswith("/login?next="), path
    token = await csrf_of(console, "/login")
    wrong = await console.post("/login", data={"csrf_token": token, "name": "staff-1", "password": "nope-nope-nope"})
    assert wrong.status == 401
    assert "用户名或密码错误" in await wrong.text()
    await log_in(console, "staff")
    assert (await console.get("/", allow_redirects=False)).headers["Location"] == "/board"
    for path in STAFF_PAGES:
        answer = await console.get(path)
        assert answer.status == 200, (path, await answer.text())
        assert "WorkTool Hub 控制台" in await answer.text()
    refused = await console.get("/reports")
    assert refused.status == 403
    assert "主管" in await refused.text()
    assert "/reports" not in (await (await console.get("/board")).text())  # not offered in the navigation
    await log_in(console, "manager")
    report = await console.get("/reports")
    assert report.status == 200
    assert 'id="chart-types"' in await report.text()
    download = await console.get("/reports/daily.md")
    assert download.status == 200
    assert "attachment" in download.headers["Content-Disposition"]


async def test_user_text_is_shown_as_text(console: Client, clock: FrozenClock) -> None:
    now = clock.now()
    conv = await add_conversation("<b>群</b>", now)
    await add_message(
        conv,
        "<img src=x onerror=alert(1)>",
        "<script>alert('x')</script>",
        now,
        type="chat_complaint",
        type_confidence=0.91,
        type_reason="<i>理由</i>",
        sender_role="user",
    )
    await add_alert(console, now, conv.id, subject="<script>t()</script>")
    await log_in(console, "staff")
    for path in (f"/conversations/{conv.id}", "/conversations/group", "/alerts", "/board"):
        body = await (await console.get(path)).text()
        for raw in ("<script>alert", "<script>t()", "<b>群</b>", "<img src=x", "<i>理由"):
            assert raw not in body, (path, raw)
    body = await (await console.get(f"/conversations/{conv.id}")).text()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in body
    assert "用户投诉" in body
    assert "置信度 0.91" in body


async def test_conversation_view_shows_badges_takeover_and_bot_replies(console: Client, clock: FrozenClock) -> None:
    from models.commands import Command

    now = clock.now()
    conv = await add_conversation("客户群1", now)
    await add_message(
        conv,
        "用户甲",
        "怎么还没人处理，我要投诉",
        now - timedelta(hours=2),
        type="chat_complaint",
        type_confidence=0.9,
        sender_role="user",
        intervention_case="needs_staff_now",
        intervention_reason="用户投诉",
    )
    await add_message(
        conv,
        "客服小王",
        "您好，马上为您处理",
        now - timedelta(minutes=10),
        sender_role="staff",
        is_staff_intervention=True,
        intervention_case="staff_took_over",
    )
    await Command.create(
        idempotency_key="k1",
        reply_key="k1",
        robot_id="robot-a",
        conversation_id=conv.id,
        purpose="reply",
        type=203,
        target="客户群1",
        content="已收到，正在处理",
        created_at=now - timedelta(minutes=9),
    )
    await log_in(console, "staff")
    body = await (await console.get(f"/conversations/{conv.id}")).text()
    assert body.index("我要投诉") < body.index("马上为您处理") < body.index("已收到，正在处理")  # in order
    assert "人工介入" in body
    assert "需人工介入" in body
    assert "机器人回复" in body
    assert "机器人暂停回复至" in body  # the takeover
    assert "staff-1（客服）" in body  # the header names the account and its role
    assert body.count('class="session"') == 2  # two hours of silence: two sessions
    csv_answer = await console.get(f"/conversations/{conv.id}/export.csv")
    text = (await csv_answer.read()).decode("utf-8-sig")
    assert csv_answer.status == 200
    assert "我要投诉" in text
    assert "已收到，正在处理" in text


async def test_alert_cancel_needs_csrf_and_records_the_account(console: Client, clock: FrozenClock) -> None:
    alert = await add_alert(console, clock.now())
    await log_in(console, "staff")
    page = await (await console.get(f"/alerts/{alert.id}")).text()
    assert 'id="cancel-form"' in page
    assert 'id="escalate-form"' not in page
    forged = await console.post(f"/alerts/{alert.id}/cancel", data={"reason": "x", "csrf_token": "forged"})
    assert forged.status == 403
    assert (await Alert.get(id=alert.id)).status == AlertStatus.OPEN
    refused = await console.post(
        f"/alerts/{alert.id}/escalate",
        data={"csrf_token": await csrf_of(console, f"/alerts/{alert.id}"), "level": "2", "reason": "急"},
    )
    assert refused.status == 403
    token = await csrf_of(console, f"/alerts/{alert.id}")
    done = await console.post(
        f"/alerts/{alert.id}/cancel", data={"reason": "已电话解决", "csrf_token": token}, allow_redirects=False
    )
    assert done.status == 303
    closed = await Alert.get(id=alert.id)
    assert (closed.status, closed.cancelled_by, closed.cancel_note) == (AlertStatus.CANCELLED, "staff-1", "已电话解决")
    assert "告警已取消" in await (await console.get(done.headers["Location"])).text()


async def test_a_manager_escalates_with_a_reason(console: Client, clock: FrozenClock) -> None:
    alert = await add_alert(console, clock.now())
    await log_in(console, "manager")
    token = await csrf_of(console, f"/alerts/{alert.id}")
    done = await console.post(
        f"/alerts/{alert.id}/escalate",
        data={"csrf_token": token, "level": "3", "reason": "客户很急"},
        allow_redirects=False,
    )
    assert done.status == 303, await done.text()
    assert (await Alert.get(id=alert.id)).level == 3
    event = await AlertEvent.filter(alert_id=alert.id, action="escalated").first()
    assert event is not None
    assert event.actor == "manager-1"


def test_routes_are_named_for_the_openapi_check() -> None:
    from bot.console import ROUTES

    for table in ROUTES:
        for route in table:
            assert isinstance(route, web.RouteDef)
            assert str(route.kwargs.get("name", "")).startswith("console."), route


async def test_a_new_account_sets_its_own_password_first(console: Client, clock: FrozenClock) -> None:
    from bot.accounts import service

    _account, one_time = await service.add("新人", "staff", console=console.app[CONSOLE], clock=clock)
    token = await csrf_of(console, "/login")
    answer = await console.post(
        "/login", data={"csrf_token": token, "name": "新人", "password": one_time}, allow_redirects=False
    )
    assert (answer.status, answer.headers["Location"]) == (303, "/password")
    assert (await console.get("/board", allow_redirects=False)).headers["Location"] == "/password"
    token = await csrf_of(console, "/password")
    mismatch = await console.post(
        "/password", data={"csrf_token": token, "old": one_time, "new": "a" * 12, "again": "b"}
    )
    assert mismatch.status == 400
    done = await console.post(
        "/password",
        data={"csrf_token": token, "old": one_time, "new": "新密码-0123456789", "again": "新密码-0123456789"},
        allow_redirects=False,
    )
    assert (done.status, done.headers["Location"]) == (303, "/board")
    assert (await console.get("/board", allow_redirects=False)).status == 200


async def test_an_event_reaches_a_logged_in_page_over_sse(console: Client) -> None:
    from bot import events
    from bot.keys import REDIS

    assert (await console.get("/events", allow_redirects=False)).status == 302  # not logged in
    await log_in(console, "staff")
    stream = await console.get("/events")
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert await stream.content.readline() == b"event: hello\r\n"
    event_id = await events.alert_changed(console.app[REDIS], 42, "opened", conversation_id=7)
    lines: list[bytes] = []
    while not lines or b"alert_id" not in lines[-1]:
        lines.append(await asyncio.wait_for(stream.content.readline(), 5))
    text = b"".join(lines).decode()
    assert f"id: {event_id}" in text
    assert "event: alert" in text
    assert '"alert_id":42' in text
    stream.close()


async def test_the_rules_page_shows_a_refused_reload(
    sqlite_template: Path, redis_url: str, tmp_path: Path, clock: FrozenClock, aiohttp_client: Any
) -> None:
    import shutil

    from bot.keys import RULES
    from tests.conftest import REPO

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    db = tmp_path / "hub.sqlite3"
    shutil.copyfile(sqlite_template, db)
    settings = console_settings(f"sqlite://{db}", redis_url, tmp_path).model_copy(update={"rules_dir": str(rules)})
    client: Client = await aiohttp_client(create_app(settings, clock=clock))
    await add_accounts(clock.now())
    await log_in(client, "staff")
    page = await (await client.get("/rules")).text()
    version = client.app[RULES].current.version
    assert version in page
    assert "message_types.yaml" in page
    assert 'id="refused"' not in page
    (rules / "alerts.yaml").write_text("levels: [oops\n", encoding="utf-8")
    result = await client.app[RULES].reload("test")
    assert not result.applied
    page = await (await client.get("/rules")).text()
    assert 'id="refused"' in page
    assert "alerts.yaml" in page.split('id="refused"')[1].split("</section>")[0]  # the error names the file
    assert version in page  # the running set stays


async def test_lists_page_by_id_and_an_older_page_stays_put(console: Client, clock: FrozenClock) -> None:
    for n in range(55):
        await add_alert(console, clock.now(), subject=f"用户{n}")
    await log_in(console, "staff")
    first = await (await console.get("/alerts")).text()
    assert 'hx-get="/alerts/list' in first  # the newest page follows live events
    older = re.search(r'href="/alerts\?status=open&(?:amp;)?before=(\d+)"', first)
    assert older is not None
    second = await (await console.get(f"/alerts?status=open&before={older.group(1)}")).text()
    assert 'hx-get="/alerts/list' not in second  # an older page is not swapped for the newest
    assert "用户0<" in second  # the oldest alert is on the second page
    assert "用户0<" not in first


async def test_failed_logins_behind_the_proxy_count_against_the_client_not_the_proxy(console: Client) -> None:
    """Behind nginx every peer is 127.0.0.1 (a trusted proxy): the throttle counts the X-Forwarded-For client,
    so one address guessing passwords does not lock everyone else out."""
    per_ip = console.app[CONSOLE].login_failures_per_ip
    token = await csrf_of(console, "/login")

    async def attempt(name: str, client_ip: str, password: str = "wrong-password-0") -> int:
        answer = await console.post(
            "/login",
            data={"csrf_token": token, "name": name, "password": password, "next": "/board"},
            headers={"X-Forwarded-For": client_ip},
            allow_redirects=False,
        )
        return answer.status

    statuses = [await attempt(f"guess-{n}", "203.0.113.5") for n in range(per_ip + 1)]
    assert statuses == [401] * per_ip + [429]  # different names each time: the per-IP limit, not the per-name one
    assert await attempt("staff-1", "203.0.113.6", PASSWORD) == 303  # another client behind the same proxy
