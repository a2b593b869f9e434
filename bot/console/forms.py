"""Posted forms: every console form carries the session's CSRF token (`csrf_token` field, or the
`X-CSRF-Token` header htmx sends); a form without the right one changes nothing."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from bot.accounts.session import check_csrf
from bot.api.envelope import ApiError
from bot.console.common import error_page

MAX_FIELD_CHARS: Final = 4000


async def form_with_csrf(request: web.Request) -> dict[str, str] | web.Response:
    """The form's text fields, or the 403 page to answer with when the CSRF token is missing or wrong."""
    posted = await request.post()
    form = {k: v[:MAX_FIELD_CHARS] for k, v in posted.items() if isinstance(v, str)}
    try:
        await check_csrf(request, form.get("csrf_token") or request.headers.get("X-CSRF-Token"))
    except ApiError:
        return await error_page(request, 403, "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试")
    return form
