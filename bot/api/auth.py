"""Who is calling the API: a bearer token (machines) or a console session cookie (people); roles
admin > manager > staff.

A request with an `Authorization` header is judged by it alone. Without one, a console session cookie is
accepted; then a request that changes something (not GET/HEAD/OPTIONS) must also carry the session's
CSRF token (`X-CSRF-Token` header or `csrf_token` form field), and an account still on its one-time
password is refused until it has set its own.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from aiohttp import web

from bot.accounts.session import COOKIE_NAME, check_csrf, presented_csrf, session_account, sessions_enabled
from bot.api.envelope import ApiError
from bot.settings import ApiRole, ApiToken

ROLE_RANK: Final[dict[str, int]] = {"staff": 1, "manager": 2, "admin": 3}
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
REQUIRED_ROLE: Final = "hub_required_role"  # set on guarded handlers (a test checks every /api route)


@dataclass(frozen=True)
class Caller:
    """Who made the request: an API token's name and role, or a console account's (and its person)."""

    name: str
    role: ApiRole
    via: Literal["token", "session"]
    person: str | None = None


CALLER: Final = web.RequestKey("caller", Caller)  # who authenticated the request: the actor of what it does
API_TOKENS: Final = web.AppKey("api_tokens", tuple[ApiToken, ...])


H = TypeVar("H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def requires(role: ApiRole) -> Callable[[H], H]:
    """Decorator: the handler needs a caller of at least `role` (who lands in request[CALLER]).

    A decorator rather than a middleware: a middleware would wrap every request, the callbacks too —
    the ingest hot path — to let all but /api/* through."""

    def wrap(handler: H) -> H:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            request[CALLER] = await authenticate(request, role)
            return await handler(request)

        setattr(guarded, REQUIRED_ROLE, role)
        return guarded  # type: ignore[return-value]

    return wrap


def find_token(tokens: tuple[ApiToken, ...], presented: str) -> ApiToken | None:
    found = None
    for token in tokens:  # compare against every token: constant time regardless of which matches
        if hmac.compare_digest(token.token.get_secret_value().encode(), presented.encode()):
            found = token
    return found


async def authenticate(request: web.Request, needed: ApiRole) -> Caller:
    if "Authorization" not in request.headers and sessions_enabled(request) and COOKIE_NAME in request.cookies:
        return await _by_session(request, needed)
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(
            401,
            "missing bearer token: send 'Authorization: Bearer <token>' (or log in to the console)",
            error="unauthorized",
        )
    token = find_token(request.app[API_TOKENS], presented.strip())
    if token is None:
        raise ApiError(401, "unknown API token", error="unauthorized")
    if ROLE_RANK[token.role] < ROLE_RANK[needed]:
        raise ApiError(403, f"this needs the {needed} role; token {token.name!r} has {token.role}", error="forbidden")
    return Caller(token.name, token.role, "token")


async def _by_session(request: web.Request, needed: ApiRole) -> Caller:
    account = await session_account(request)
    if account is None:
        raise ApiError(401, "the console session has expired or ended: log in again", error="unauthorized")
    if request.method not in SAFE_METHODS:
        await check_csrf(request, await presented_csrf(request))
    if account.must_change_password:
        raise ApiError(
            403, "set your own password first (the one-time password must be changed)", error="password_change_required"
        )
    if ROLE_RANK[account.role] < ROLE_RANK[needed]:
        raise ApiError(
            403, f"this needs the {needed} role; account {account.name!r} has {account.role}", error="forbidden"
        )
    return Caller(account.name, account.role, "session", account.person)


def refuse_actor(data: object, field: str) -> object:
    """For a request body's `model_validator(mode="before")`: naming the actor (`field`) is refused, since the
    actor is whoever authenticated (request[CALLER]), never what the body claims."""
    if isinstance(data, dict) and field in data:
        raise ValueError(
            f"{field} is not accepted: the actor is the caller (its API token or console account), never the body"
        )
    return data
