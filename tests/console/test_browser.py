"""The console in a real browser (Debian's chromium through sync Playwright) against a real `hub serve` and
`hub worker`: first login, a complaint arriving on the board live, cancelling its alert, the group's
conversation with its badges, the daily report with its charts, a staff account refused an admin action.

One hub and one browser for the module; the tests run in order and build on each other (the complaint of
the second is the alert of the third). A screenshot of every page is saved under tests/artifacts/console/.
The module runs last in the session (tests/conftest.py: sync Playwright breaks later pytest-asyncio tests).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.embedded_redis import EmbeddedRedis, free_port
from tests.conftest import CALLBACK_TOKEN, REPO
from tests.integration.hub import hub_env, spawn, stop, wait_healthy

DRIVES_A_BROWSER = True  # tests/conftest.py runs this module last
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts" / "console"
NEW_PASSWORD = "浏览器测试-密码-0123"
GROUP = "客户群浏览器"
COMPLAINT = "你们这什么破服务，问了三次都没人管，我要投诉！<script>alert(1)</script>"
AFTER_SALES = "二维码一直过期，扫码登录不了，麻烦处理一下"
WAIT_MS = 15_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (make test installs it)")


@dataclass
class Hub:
    base: str
    env: dict[str, str]
    db: Path
    passwords: dict[str, str]


def add_user(env: dict[str, str], name: str, role: str) -> subprocess.Popen[str]:
    """`hub users add`, started (it runs while the server and the worker start)."""
    command = [sys.executable, "-m", "bot.cli", "users", "add", name, "--role", role]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def one_time_password(adding: subprocess.Popen[str]) -> str:
    output, _ = adding.communicate(timeout=60)
    found = re.search(r"one-time password: (\S+)", output)
    assert adding.returncode == 0, output
    assert found is not None, output
    return found.group(1)


@pytest.fixture(scope="module")
def hub(redis_server: EmbeddedRedis, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data = tmp_path_factory.mktemp("console-browser")
    db = data / "hub.sqlite3"
    shutil.copyfile(sqlite_template, db)
    port = free_port()
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/7"  # a database of its own on the session's Redis
    env = hub_env(
        f"sqlite://{db}",
        redis_url,
        data,
        port,
        HUB__CONSOLE__SESSION_SECRET="browser-test-session-secret-0123456789",
        HUB__CONSOLE__PASSWORD_HASHING="insecure_fast_for_tests",
    )
    server = spawn("serve", env, data / "serve.log")
    worker = spawn("worker", env, data / "worker.log")
    adding = {"管理员甲": add_user(env, "管理员甲", "admin"), "客服乙": add_user(env, "客服乙", "staff")}
    try:
        passwords = {name: one_time_password(process) for name, process in adding.items()}
        wait_healthy(port, timeout_s=60)  # start-up on a loaded 2-core box can take 10+ s
        yield Hub(f"http://127.0.0.1:{port}", env, db, passwords)
    finally:
        stop(worker, log=data / "worker.log")
        stop(server, log=data / "serve.log")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"],
        )
        yield launched
        launched.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def first_login(page: Page, hub: Hub, name: str) -> None:
    """Log in with the one-time password `hub users add` printed, then set one's own."""
    page.goto(hub.base + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", hub.passwords[name])
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/password$"))
    page.fill("input[name=old]", hub.passwords[name])
    page.fill("input[name=new]", NEW_PASSWORD)
    page.fill("input[name=again]", NEW_PASSWORD)
    if name == "管理员甲":
        shot(page, "password")
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/board$"))


def post_message(hub: Hub, sender: str, text: str) -> None:
    body = json.dumps({"spoken": text, "rawSpoken": text, "receivedName": sender, "groupName": GROUP, "roomType": 1})
    request = urllib.request.Request(
        f"{hub.base}/worktool/wt-robot-1/message?token={CALLBACK_TOKEN}",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


@pytest.fixture(scope="module")
def admin(browser: Browser, hub: Hub) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(hub.base + "/login")
    shot(page, "login")
    first_login(page, hub, "管理员甲")
    yield page
    context.close()


def test_a_complaint_arrives_on_the_board_live(admin: Page, hub: Hub) -> None:
    admin.goto(hub.base + "/board")
    admin.wait_for_selector("body[data-live-ready='1']")  # the event stream is open
    admin.evaluate("window.__sameDocument = true")
    expect(admin.locator("#fig-open-alerts")).to_have_text("0")
    started = time.monotonic()
    post_message(hub, "用户丙", COMPLAINT)
    expect(admin.locator("#reminders")).to_contain_text("新告警", timeout=WAIT_MS)
    seen_s = time.monotonic() - started
    expect(admin.locator("#fig-open-alerts")).to_have_text("1")
    assert admin.evaluate("window.__sameDocument") is True  # updated in place, no reload
    print(f"complaint callback -> on the board: {seen_s:.2f} s")
    post_message(hub, "用户丁", AFTER_SALES)  # an after-sales task, for the conversation and the report
    expect(admin.locator("#tasks")).to_contain_text("用户丁", timeout=WAIT_MS)
    shot(admin, "board")


def test_its_alert_is_opened_and_cancelled(admin: Page, hub: Hub) -> None:
    admin.goto(hub.base + "/alerts")
    shot(admin, "alerts")
    admin.locator("#alert-list a", has_text="#").first.click()
    expect(admin.locator("h1")).to_contain_text("告警 #")
    expect(admin.locator("#alert-status")).to_have_text("进行中")
    assert admin.locator("#escalate-form").count() == 1  # an admin may escalate
    shot(admin, "alert")
    admin.fill("#cancel-form input[name=reason]", "已电话联系用户，问题已解决")
    admin.click("#cancel-form button[type=submit]")
    expect(admin.locator(".flash.good")).to_have_text("告警已取消")
    expect(admin.locator("#alert-status")).to_have_text("已关闭")
    expect(admin.locator("table.list").first).to_contain_text("管理员甲")  # the history names the account
    shot(admin, "alert-cancelled")


def test_the_groups_conversation_shows_its_badges(admin: Page, hub: Hub) -> None:
    admin.goto(hub.base + "/conversations/group")
    shot(admin, "conversations-group")
    admin.click(f"text={GROUP}")
    expect(admin.locator("h1")).to_contain_text(GROUP)
    complaint = admin.locator("li.msg", has_text="我要投诉")
    expect(complaint.locator(".badge.type")).to_have_text("用户投诉")
    expect(complaint.locator(".badge.case")).to_contain_text("人工")
    expect(complaint.locator(".text")).to_contain_text("<script>alert(1)</script>")  # shown as text
    expect(admin.locator("li.msg", has_text="二维码").locator(".badge.type")).to_have_text("售后任务")
    shot(admin, "conversation")
    admin.goto(hub.base + "/conversations/private")
    shot(admin, "conversations-private")
    admin.goto(hub.base + "/robots")
    expect(admin.locator(".robot").first).to_contain_text("小助手")
    shot(admin, "robots")
    admin.goto(hub.base + "/rules")
    expect(admin.locator("#rules-version")).not_to_be_empty()
    shot(admin, "rules")


def _move_to_yesterday(db: Path) -> None:
    """The report covers finished days: move today's alerts, tasks and messages a day back (as stored: ISO text)."""
    columns = {
        "alerts": ("opened_at", "last_fired_at", "cancelled_at", "next_escalation_at", "escalated_at"),
        "after_sales_tasks": ("created_at", "updated_at", "assigned_at", "response_due_at", "staff_at_user_time"),
        "inbound_messages": ("received_at", "processed_at"),
    }
    with sqlite3.connect(db) as conn:
        for table, names in columns.items():
            for row in conn.execute(f"SELECT id, {', '.join(names)} FROM {table}").fetchall():
                moved = [
                    (datetime.fromisoformat(v) - timedelta(days=1)).isoformat(sep=" ") if v else v for v in row[1:]
                ]
                sets = ", ".join(f"{n} = ?" for n in names)
                conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*moved, row[0]))


def test_the_daily_report_draws_its_charts(admin: Page, hub: Hub) -> None:
    _move_to_yesterday(hub.db)
    admin.goto(hub.base + "/reports")
    admin.wait_for_selector("body[data-charts='5']")  # all five ECharts charts drawn
    assert admin.locator(".chart-box canvas").count() >= 5
    expect(admin.locator(".cards")).to_contain_text("新建任务")
    expect(admin.locator("#top-complaints")).to_contain_text(GROUP)  # the day's complaints, by conversation
    shot(admin, "report")
    with admin.expect_download() as download:
        admin.click("text=下载 Markdown")
    assert download.value.suggested_filename.endswith(".md")


def test_a_staff_account_is_refused_an_admin_action(browser: Browser, hub: Hub) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        first_login(page, hub, "客服乙")
        expect(page.locator("header nav")).not_to_contain_text("每日售后报告")
        page.goto(hub.base + "/reports")
        expect(page.locator(".error")).to_contain_text("主管")
        shot(page, "staff-refused")
        answer: dict[str, Any] = page.evaluate(
            """async () => {
                const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
                const r = await fetch('/api/admin/rules/reload', {method: 'POST', headers: {'X-CSRF-Token': token}});
                return {status: r.status, body: await r.json()};
            }"""
        )
        assert answer["status"] == 403
        assert "admin" in answer["body"]["message"]
    finally:
        context.close()
