"""Bearer tokens with roles for `/api/*`: admin > manager > staff."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from aiohttp import web

from bot.api.envelope import ApiError, Handler
from bot.settings import ApiRole, ApiToken

ROLE_RANK: Final[dict[str, int]] = {"staff": 1, "manager": 2, "admin": 3}
_REQUIRED_ROLE: Final = "hub_required_role"
CALLER: Final = web.RequestKey("caller", ApiToken)  # the token that authenticated the request


H = TypeVar("H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def requires(role: ApiRole) -> Callable[[H], H]:
    """Decorator: the handler needs at least `role` (the middleware enforces it)."""

    def mark(handler: H) -> H:
        setattr(handler, _REQUIRED_ROLE, role)
        return handler

    return mark


def find_token(tokens: tuple[ApiToken, ...], presented: str) -> ApiToken | None:
    found = None
    for token in tokens:  # compare against every token: constant time regardless of which matches
        if hmac.compare_digest(token.token.get_secret_value().encode(), presented.encode()):
            found = token
    return found


def make_auth_middleware(tokens: tuple[ApiToken, ...]) -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ApiError(401, "missing bearer token: send 'Authorization: Bearer <token>'", error="unauthorized")
        caller = find_token(tokens, presented.strip())
        if caller is None:
            raise ApiError(401, "unknown API token", error="unauthorized")
        needed = getattr(handler, _REQUIRED_ROLE, "staff")
        if ROLE_RANK[caller.role] < ROLE_RANK[needed]:
            raise ApiError(
                403, f"this needs the {needed} role; token {caller.name!r} has {caller.role}", error="forbidden"
            )
        request[CALLER] = caller
        return await handler(request)

    return auth_middleware
