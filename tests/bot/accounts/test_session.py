"""Console sessions through the real app on both databases: cookie attributes, expiry (absolute and idle,
injected clock), logout, disable/reset invalidation, CSRF, and the API accepting a session cookie."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from tortoise.transactions import in_transaction

from bot.accounts import service
from bot.accounts.session import (
    CONSOLE,
    COOKIE_NAME,
    check_csrf,
    csrf_token,
    login,
    logout,
    session_account,
    setup_sessions,
)
from bot.alerts.service import AlertSpec, Wakeups
from bot.api.alerts import ALERTS
from bot.api.envelope import error_middleware
from bot.app import create_app
from bot.clock import FrozenClock
from bot.keys import CLOCK, REDIS
from bot.settings import ConsoleSettings, ServerSettings, Settings
from models.accounts import Account
from models.alerts import AlertEvent
from tests.conftest import build_settings

Client = TestClient[Any, Any]
FAST = ConsoleSettings(password_hashing="insecure_fast_for_tests", session_hours=12, idle_minutes=120)


async def login_route(request: web.Request) -> web.Response:
    """What the console's login page does (bot/console/login.py), without its templates."""
    data = await request.json()
    account = await service.authenticate(
        data["name"],
        data["password"],
        request.remote or "?",
        redis=request.app[REDIS],
        clock=request.app[CLOCK],
        console=request.app[CONSOLE],
    )
    await login(request, account)
    return web.json_response({"csrf": await csrf_token(request)})


async def logout_route(request: web.Request) -> web.Response:
    await logout(request)
    return web.json_response({})


async def whoami_route(request: web.Request) -> web.Response:
    account = await session_account(request)
    return web.json_response(None if account is None else [account.name, account.role, account.person])


async def form_route(request: web.Request) -> web.Response:
    form = await request.post()
    value = form.get("csrf_token")
    await check_csrf(request, value if isinstance(value, str) else None)
    return web.json_response({"ok": True})


@pytest.fixture
def settings(db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return build_settings(db_url, redis_url, tmp_path, console=FAST)


@pytest.fixture
async def client(settings: Settings, clock: FrozenClock, aiohttp_client: Callable[..., Any]) -> Client:
    app = create_app(settings, clock=clock)
    app.router.add_post("/_t/login", login_route)
    app.router.add_post("/_t/logout", logout_route)
    app.router.add_get("/_t/whoami", whoami_route)
    app.router.add_post("/_t/form", form_route)
    test_client: Client = await aiohttp_client(app)
    return test_client


async def account(name: str, role: str, *, changed: bool = True) -> str:
    """An account whose password is set (or still the one-time one, with changed=False)."""
    _, one_time = await service.add(name, role, console=FAST)
    if not changed:
        return one_time
    await service.change_password(name, one_time, f"{name}-own-password", console=FAST)
    return f"{name}-own-password"


async def log_in(client: Client, name: str, password: str) -> str:
    resp = await client.post("/_t/login", json={"name": name, "password": password})
    assert resp.status == 200, await resp.text()
    csrf: str = (await resp.json())["csrf"]
    return csrf


async def whoami(client: Client) -> Any:
    resp = await client.get("/_t/whoami")
    assert resp.status == 200
    return await resp.json()


async def open_alert(client: Client) -> int:
    service_ = client.app[ALERTS]
    spec = AlertSpec(kind="complaint_unhandled", subject="号主A", conversation_id=None, where="客户群1", detail="退钱")
    async with in_transaction() as conn:
        opened = await service_.open(spec, service_.clock.now(), conn, Wakeups())
    alert_id: int = opened.alert.id
    return alert_id


async def test_the_cookie_is_httponly_lax_and_expiry_is_absolute_and_idle(client: Client, clock: FrozenClock) -> None:
    password = await account("小王", "staff")
    resp = await client.post("/_t/login", json={"name": "小王", "password": password})
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # server.public_url is not https here
    assert "Max-Age=43200" in cookie
    assert "小王" not in cookie  # encrypted
    assert await whoami(client) == ["小王", "staff", None]
    csrf = (await resp.json())["csrf"]
    for form in ({}, {"csrf_token": "forged"}):  # a form needs the session's CSRF token
        resp = await client.post("/_t/form", data=form)
        assert resp.status == 403
        assert (await resp.json())["error"] == "csrf_failed"
    resp = await client.post("/_t/form", data={"csrf_token": csrf})
    assert resp.status == 200

    # Idle: used every 100 minutes it lives on; 12 hours after login it ends all the same.
    for _ in range(7):
        clock.advance(timedelta(minutes=100))
        assert await whoami(client) == ["小王", "staff", None]
    clock.advance(timedelta(minutes=21))  # 12 h 1 min after login
    assert await whoami(client) is None
    assert client.session.cookie_jar.filter_cookies(client.make_url("/")).get(COOKIE_NAME) is None  # cleared

    await log_in(client, "小王", password)
    clock.advance(timedelta(minutes=121))  # unused for longer than idle_minutes
    assert await whoami(client) is None


async def test_logout_disable_and_reset_end_sessions(client: Client, clock: FrozenClock) -> None:
    password = await account("小王", "staff")
    await log_in(client, "小王", password)
    copied = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE_NAME].value
    resp = await client.post("/_t/logout")
    assert resp.status == 200
    assert await whoami(client) is None
    # The copied cookie is no good either: its session id is remembered as ended.
    client.session.cookie_jar.update_cookies({COOKIE_NAME: copied})
    assert await whoami(client) is None

    await log_in(client, "小王", password)
    await service.disable("小王", clock=clock)
    assert await whoami(client) is None
    await service.enable("小王")
    client.session.cookie_jar.update_cookies({COOKIE_NAME: copied})
    assert await whoami(client) is None  # enabling again does not revive sessions from before the disable

    await log_in(client, "小王", password)
    assert await whoami(client) == ["小王", "staff", None]
    one_time = await service.reset("小王", console=FAST, clock=clock)
    assert await whoami(client) is None
    await log_in(client, "小王", one_time)
    assert await whoami(client) == ["小王", "staff", None]


async def test_the_api_takes_a_session_cookie_with_csrf_on_writes(client: Client) -> None:
    staff, manager = await account("小王", "staff"), await account("张经理", "manager")
    new_hire = await account("新人", "staff", changed=False)
    alert_id = await open_alert(client)

    resp = await client.get("/api/alerts")  # no cookie, no token
    assert resp.status == 401
    csrf = await log_in(client, "小王", staff)
    resp = await client.get("/api/alerts")
    assert resp.status == 200, await resp.text()
    assert [a["alert_id"] for a in (await resp.json())["data"]["items"]] == [alert_id]

    path = f"/api/alerts/{alert_id}/cancel"
    resp = await client.post(path, json={"cancel_reason": "已电话沟通"})  # the cookie alone is not enough
    assert resp.status == 403
    assert (await resp.json())["error"] == "csrf_failed"
    resp = await client.post(path, json={"cancel_reason": "已电话沟通"}, headers={"X-CSRF-Token": "forged"})
    assert resp.status == 403
    resp = await client.post(
        f"/api/alerts/{alert_id}/escalate",
        json={"escalate_to": 2, "escalate_reason": "升级"},
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status == 403  # a staff account, like a staff token
    assert "needs the manager role; account '小王' has staff" in (await resp.json())["message"]

    resp = await client.post(path, json={"cancel_reason": "已电话沟通"}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["data"]["cancelled_by"] == "小王"  # the actor is the session's account
    events = await AlertEvent.filter(alert_id=alert_id).order_by("id").values_list("action", "actor")
    assert events[-1] == ("cancelled", "小王")

    # A bearer header wins over the cookie: the token is the caller.
    resp = await client.get("/api/alerts", headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert resp.status == 401

    csrf = await log_in(client, "张经理", manager)
    second = await open_alert(client)
    resp = await client.post(
        f"/api/alerts/{second}/escalate",
        json={"escalate_to": 2, "escalate_reason": "升级"},
        headers={"X-CSRF-Token": csrf},
    )
    assert resp.status == 200, await resp.text()
    assert [e.actor for e in await AlertEvent.filter(alert_id=second, action="escalated")] == ["张经理"]

    await log_in(client, "新人", new_hire)  # still on the one-time password
    resp = await client.get("/api/alerts")
    assert resp.status == 403
    assert (await resp.json())["error"] == "password_change_required"


async def test_the_cookie_is_secure_behind_https(clock: FrozenClock, aiohttp_client: Callable[..., Any]) -> None:
    """No database: the cookie's attributes come from the settings alone."""
    settings = Settings().model_copy(update={"server": ServerSettings(public_url="https://hub.example")})
    app = web.Application(middlewares=[error_middleware])
    app[CLOCK] = clock
    setup_sessions(app, settings)

    async def log_in_route(request: web.Request) -> web.Response:
        now = clock.now()
        await login(request, Account(name="小王", role="staff", password_set_at=now, created_at=now))
        return web.json_response({})

    app.router.add_post("/login", log_in_route)
    client: Client = await aiohttp_client(app)
    resp = await client.post("/login")
    assert resp.status == 200
    cookie = resp.headers["Set-Cookie"]
    assert ("Secure" in cookie, "HttpOnly" in cookie, "SameSite=Lax" in cookie) == (True, True, True)
