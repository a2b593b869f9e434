"""Bearer tokens with roles for the API: admin > manager > staff."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from aiohttp import web

from bot.api.envelope import ApiError
from bot.settings import ApiRole, ApiToken

ROLE_RANK: Final[dict[str, int]] = {"staff": 1, "manager": 2, "admin": 3}
REQUIRED_ROLE: Final = "hub_required_role"  # set on guarded handlers (a test checks every /api route)
CALLER: Final = web.RequestKey("caller", ApiToken)  # the token that authenticated the request
API_TOKENS: Final = web.AppKey("api_tokens", tuple[ApiToken, ...])


H = TypeVar("H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def requires(role: ApiRole) -> Callable[[H], H]:
    """Decorator: the handler needs a bearer token of at least `role` (its caller lands in request[CALLER]).

    A decorator rather than a middleware: a middleware would wrap every request, the callbacks too —
    the ingest hot path — to let all but /api/* through."""

    def wrap(handler: H) -> H:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            request[CALLER] = authenticate(request, role)
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


def authenticate(request: web.Request, needed: ApiRole) -> ApiToken:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "missing bearer token: send 'Authorization: Bearer <token>'", error="unauthorized")
    caller = find_token(request.app[API_TOKENS], presented.strip())
    if caller is None:
        raise ApiError(401, "unknown API token", error="unauthorized")
    if ROLE_RANK[caller.role] < ROLE_RANK[needed]:
        raise ApiError(403, f"this needs the {needed} role; token {caller.name!r} has {caller.role}", error="forbidden")
    return caller
