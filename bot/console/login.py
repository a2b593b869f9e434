"""Logging in and out, and setting one's own password (the one `hub users add/reset` prints is for
one use: the console asks for a new one before anything else). `/` goes to the board or the login page."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from bot.accounts import service
from bot.accounts.service import AccountError, LoginRefused
from bot.accounts.session import CONSOLE, client_ip, csrf_token, login, logout, session_account
from bot.console.common import ACCOUNT, render
from bot.console.forms import form_with_csrf
from bot.keys import CLOCK, REDIS

routes = web.RouteTableDef()
HOME: Final = "/board"


def _safe_next(raw: str | None) -> str:
    """Only a path on this site (never `//elsewhere` or `https://…`): no open redirect."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return HOME
    parts = urlsplit(raw)
    return HOME if parts.scheme or parts.netloc else raw


@routes.get("/", name="console.home")
async def home(request: web.Request) -> web.StreamResponse:
    account = await session_account(request)
    raise web.HTTPFound(HOME if account is not None else "/login")


async def _login_page(request: web.Request, *, error: str = "", name: str = "", status: int = 200) -> web.Response:
    context = {
        "login_csrf": await csrf_token(request),
        "next": _safe_next(request.query.get("next")),
        "error": error,
        "name": name,
    }
    return await render(request, "login.html", context, status=status)


@routes.get("/login", name="console.login")
async def login_form(request: web.Request) -> web.StreamResponse:
    if await session_account(request) is not None:
        raise web.HTTPFound(_safe_next(request.query.get("next")))
    return await _login_page(request)


@routes.post("/login", name="console.login_post")
async def login_post(request: web.Request) -> web.StreamResponse:
    form = await form_with_csrf(request)
    if isinstance(form, web.Response):
        return form
    name = form.get("name", "").strip()
    try:
        account = await service.authenticate(
            name,
            form.get("password", ""),
            client_ip(request),  # behind nginx the peer is always 127.0.0.1: X-Forwarded-For from a trusted proxy
            redis=request.app[REDIS],
            clock=request.app[CLOCK],
            console=request.app[CONSOLE],
        )
    except LoginRefused as exc:
        response = await _login_page(request, error=exc.message_zh, name=name, status=429 if exc.retry_after_s else 401)
        if exc.retry_after_s is not None:
            response.headers["Retry-After"] = str(max(1, int(exc.retry_after_s)))
        return response
    await login(request, account)
    raise web.HTTPSeeOther("/password" if account.must_change_password else _safe_next(form.get("next")))


@routes.post("/logout", name="console.logout")
async def logout_post(request: web.Request) -> web.StreamResponse:
    form = await form_with_csrf(request)
    if isinstance(form, web.Response):
        return form
    await logout(request)
    raise web.HTTPSeeOther("/login")


async def _password_page(request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
    return await render(request, "password.html", {"error": error}, status=status)


@routes.get("/password", name="console.password")
async def password_form(request: web.Request) -> web.StreamResponse:
    account = await session_account(request)
    if account is None:
        raise web.HTTPFound("/login?next=/password")
    request[ACCOUNT] = account
    return await _password_page(request)


@routes.post("/password", name="console.password_post")
async def password_post(request: web.Request) -> web.StreamResponse:
    account = await session_account(request)
    if account is None:
        raise web.HTTPFound("/login?next=/password")
    request[ACCOUNT] = account
    form = await form_with_csrf(request)
    if isinstance(form, web.Response):
        return form
    new = form.get("new", "")
    if new != form.get("again", ""):
        return await _password_page(request, error="两次输入的新密码不一致", status=400)
    try:
        changed = await service.change_password(
            account.name, form.get("old", ""), new, console=request.app[CONSOLE], clock=request.app[CLOCK]
        )
    except AccountError as exc:
        return await _password_page(request, error=exc.message, status=400)
    # The change ended every session of the account, this one too: a new one, with the account as stored.
    await login(request, await service.get(changed.name))
    raise web.HTTPSeeOther(HOME)
