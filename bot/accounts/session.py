"""Console sessions: an encrypted cookie (aiohttp-session's EncryptedCookieStorage), checked on every use.

The cookie holds the account's name, what the account looked like at login (`session_generation`), when
the session was issued and last used (by the app's clock), a session id and the CSRF token. A session
ends when it is older than `console.session_hours`, unused for `console.idle_minutes`, logged out (its id
is kept in Redis until it would have expired anyway, so a copied cookie dies too), or when the account
was disabled, reset or its password changed since login. The role comes from the database on each use,
never from the cookie.

aiohttp-session's own middleware keeps the session under a string request key (a warning, an error under
the tests' settings, in aiohttp 3.14) and saves only responses from below the error middleware; this
module keeps the library's storage and `Session` and does the small glue itself, outside the error
middleware so a refusal that ends a session also clears its cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

import structlog
from aiohttp import web
from aiohttp_session import AbstractStorage, Session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from bot.accounts.service import session_generation
from bot.api.envelope import ApiError, Handler, error_middleware
from bot.keys import CLOCK, REDIS
from bot.settings import ApiRole, ConsoleSettings, Settings
from models.accounts import Account

log = structlog.get_logger(__name__)

COOKIE_NAME: Final = "hub_session"
CSRF_HEADER: Final = "X-CSRF-Token"
CSRF_FIELD: Final = "csrf_token"
SEEN_REFRESH_S: Final = 60  # the last-use time is rewritten (a new cookie) at most this often
ENDED_KEY: Final = "hub:console:ended:"  # + session id: logged out
# Paths that never use a session: the callbacks (the ingest hot path) and the probes.
NO_SESSION_PREFIXES: Final = ("/worktool/", "/wecom/", "/healthz", "/readyz", "/metrics")


@dataclass(frozen=True)
class SessionAccount:
    """Who is logged in, as the database says now."""

    name: str
    role: ApiRole
    person: str | None
    must_change_password: bool = False


@dataclass(frozen=True)
class _Resolved:
    account: SessionAccount | None


STORAGE: Final = web.AppKey("console_session_storage", AbstractStorage)
CONSOLE: Final = web.AppKey("console_settings", ConsoleSettings)
_SESSION: Final = web.RequestKey("console_session", Session)
_RESOLVED: Final = web.RequestKey("console_session_account", _Resolved)


def cookie_key(secret: str) -> bytes:
    """The Fernet key for the cookies, derived from `console.session_secret` (any text of 32+ characters)."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"hub-console-session\0" + secret.encode()).digest())


def setup_sessions(app: web.Application, settings: Settings) -> None:
    """Encrypted cookie sessions for the console; call once from the app factory."""
    console = settings.console
    if console.session_secret is not None:
        key = cookie_key(console.session_secret.get_secret_value())
    else:
        # Only an app built without the CLI (tests): `hub` commands always have one (bot/dev_secrets.py).
        key = Fernet.generate_key()
        log.warning("console.session_secret not set: sessions use a key of this process only")
    public_url = settings.server.public_url or ""
    app[STORAGE] = EncryptedCookieStorage(
        Fernet(key),
        cookie_name=COOKIE_NAME,
        max_age=int(console.session_hours * 3600),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=public_url.lower().startswith("https://"),
    )
    app[CONSOLE] = console
    middlewares = app.middlewares
    # Outside the error middleware: a refusal (an ApiError turned into a response there) still saves the session.
    at = middlewares.index(error_middleware) if error_middleware in middlewares else len(middlewares)
    middlewares.insert(at, session_middleware)


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(NO_SESSION_PREFIXES):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # a redirect or refusal raised by a page: it carries the cookie too
        await _save(request, exc)
        raise
    if isinstance(response, web.Response) and not response.prepared:  # not a stream (SSE)
        await _save(request, response)
    return response


async def _save(request: web.Request, response: web.StreamResponse) -> None:
    session = request.get(_SESSION)
    if session is not None and session._changed:
        await request.app[STORAGE].save_session(request, response, session)


async def _session(request: web.Request) -> Session:
    session = request.get(_SESSION)
    if session is None:
        if STORAGE not in request.app:
            raise RuntimeError("console sessions are not set up: call setup_sessions(app, settings)")
        session = await request.app[STORAGE].load_session(request)
        request[_SESSION] = session
    return session


def sessions_enabled(request: web.Request) -> bool:
    return STORAGE in request.app and not request.path.startswith(NO_SESSION_PREFIXES)


def _now_s(request: web.Request) -> float:
    return request.app[CLOCK].now().timestamp()


async def login(request: web.Request, account: Account) -> None:
    """Start a new session for `account` (a new cookie: nothing from before the login carries over)."""
    session = await request.app[STORAGE].new_session()
    request[_SESSION] = session
    now_s = _now_s(request)
    session["account"] = account.name
    session["gen"] = session_generation(account)
    session["sid"] = secrets.token_urlsafe(16)
    session["issued"] = now_s
    session["seen"] = now_s
    session["csrf"] = secrets.token_urlsafe(32)
    request[_RESOLVED] = _Resolved(_account_of(account))


async def logout(request: web.Request) -> None:
    """End the session: its cookie is cleared, and its id is remembered as ended until it would have expired."""
    session = await _session(request)
    sid = session.get("sid")
    if isinstance(sid, str):
        ttl_s = int(request.app[CONSOLE].session_hours * 3600) + SEEN_REFRESH_S
        await request.app[REDIS].set(ENDED_KEY + sid, b"1", ex=ttl_s)
        log.info("logout", account=session.get("account"))
    session.invalidate()
    request[_RESOLVED] = _Resolved(None)


async def session_account(request: web.Request) -> SessionAccount | None:
    """The logged-in account, or None (no session, expired, logged out, or the account disabled, reset or
    its password changed since login; the cookie is then cleared). Looked up once per request."""
    resolved = request.get(_RESOLVED)
    if resolved is None:
        resolved = _Resolved(await _resolve(request))
        request[_RESOLVED] = resolved
    return resolved.account


async def _resolve(request: web.Request) -> SessionAccount | None:
    if not sessions_enabled(request):
        return None
    session = await _session(request)
    name = session.get("account")
    if not isinstance(name, str):
        return None
    now_s = _now_s(request)
    account, why = await _valid_account(request, session, name, now_s)
    if account is None:
        log.info("session ended", account=name, reason=why)
        session.invalidate()
        return None
    seen = session.get("seen")
    if isinstance(seen, int | float) and now_s - seen >= SEEN_REFRESH_S:
        session["seen"] = now_s
    return _account_of(account)


async def _valid_account(  # noqa: PLR0911 - one return per reason
    request: web.Request, session: Session, name: str, now_s: float
) -> tuple[Account | None, str]:
    console = request.app[CONSOLE]
    issued, seen, sid = session.get("issued"), session.get("seen"), session.get("sid")
    if not isinstance(issued, int | float) or not isinstance(seen, int | float) or not isinstance(sid, str):
        return None, "malformed"
    if now_s - issued > console.session_hours * 3600:
        return None, "expired"
    if now_s - seen > console.idle_minutes * 60:
        return None, "idle"
    if await request.app[REDIS].exists(ENDED_KEY + sid):
        return None, "logged out"
    account = await Account.get_or_none(name=name)
    if account is None or account.disabled:
        return None, "account gone or disabled"
    if session.get("gen") != session_generation(account):
        return None, "password reset or changed, or sessions revoked"
    return account, "ok"


def _account_of(account: Account) -> SessionAccount:
    role: ApiRole = account.role  # type: ignore[assignment]  # written only through check_role
    return SessionAccount(account.name, role, account.person, account.must_change_password)


async def csrf_token(request: web.Request) -> str:
    """The session's CSRF token for forms and htmx headers (a session is started for it if there is none,
    so the login form has one too)."""
    session = await _session(request)
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


async def check_csrf(request: web.Request, presented: str | None) -> None:
    """403 unless `presented` is the session's CSRF token."""
    session = await _session(request)
    expected = session.get("csrf")
    if (
        not presented
        or not isinstance(expected, str)
        or not hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))
    ):
        raise ApiError(403, "CSRF 校验失败：请刷新页面后重试", error="csrf_failed")


def client_ip(request: web.Request) -> str:
    """The address to count failed logins against: the peer, or, when the peer is a trusted reverse proxy
    (`console.trusted_proxies`, nginx on the same host by default), the right-most X-Forwarded-For entry
    that is not a trusted proxy (what nginx's $proxy_add_x_forwarded_for appended; entries further left
    are whatever the client claimed)."""
    peer = request.remote or "unknown"
    trusted = request.app[CONSOLE].trusted_proxies if CONSOLE in request.app else ()
    if peer not in trusted:
        return peer
    hops = [hop.strip() for header in request.headers.getall("X-Forwarded-For", ()) for hop in header.split(",")]
    for hop in reversed(hops):
        if hop and hop not in trusted:
            return hop
    return peer


async def presented_csrf(request: web.Request) -> str | None:
    """The token a request carries: the X-CSRF-Token header, else the form field csrf_token."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None
