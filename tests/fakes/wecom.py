"""A fake WeCom API: gettoken, app message/send and the group robot webhook/send.

It checks what WeCom checks — corp id and secret, the access_token (unknown → 40014, expired →
42001), the agent id, the webhook key, message shapes and byte limits — and answers with WeCom's
`{"errcode", "errmsg", ...}` bodies. Within its validity gettoken returns the same token, as WeCom does.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from tests.fakes.state import AGENT_ID, CORP_ID, CORP_SECRET, WEBHOOK_KEY, Call, FakeState, Overloaded, Refused

APP_MARKDOWN_MAX_BYTES: Final = 2048
WEBHOOK_MARKDOWN_MAX_BYTES: Final = 4096
TEXT_MAX_BYTES: Final = 2048


@dataclass
class WeComState(FakeState):
    expires_in: int = 7200
    gettoken_calls: int = 0
    token: str | None = None
    expired: set[str] = field(default_factory=set)

    def expire_token(self) -> None:
        """The current token expires now: sends with it get 42001; gettoken hands out a new one."""
        if self.token is not None:
            self.expired.add(self.token)
            self.token = None


WECOM_STATE: Final = web.AppKey("wecom_state", WeComState)
Handler = Callable[[web.Request], Awaitable[web.Response]]


def answer(errcode: int, errmsg: str, **extra: Any) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg, **extra})


def served(handler: Callable[[web.Request, WeComState], Awaitable[web.Response]]) -> Handler:
    """Count the request, and turn refusals into WeCom's `{"errcode": …}` answers."""

    async def serve(request: web.Request) -> web.Response:
        state = request.app[WECOM_STATE]
        state.requests += 1
        try:
            return await handler(request, state)
        except Refused as refusal:
            return answer(int(refusal.code), refusal.message)
        except Overloaded as overload:
            return overload.response()

    return serve


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Refused("47001", "data format error")
    return body


def check_content(message: dict[str, Any], msgtypes: dict[str, int]) -> None:
    """`msgtypes`: the accepted msgtype → its content limit in bytes."""
    msgtype = message.get("msgtype")
    content = (message.get(msgtype) or {}).get("content") if msgtype in msgtypes else None
    if not isinstance(content, str) or not content:
        raise Refused("44004", "empty content")
    if len(content.encode("utf-8")) > msgtypes[str(msgtype)]:
        raise Refused("45002", "content size out of limit")


@served
async def gettoken(request: web.Request, state: WeComState) -> web.Response:
    state.gettoken_calls += 1
    if request.query.get("corpid") != CORP_ID:
        raise Refused("40013", "invalid corpid")
    if request.query.get("corpsecret") != CORP_SECRET:
        raise Refused("40001", "invalid credential")
    if state.token is None:
        state.token = f"fake-access-token-{state.next_id()}"
    return answer(0, "ok", access_token=state.token, expires_in=state.expires_in)


@served
async def message_send(request: web.Request, state: WeComState) -> web.Response:
    token = request.query.get("access_token")
    if not token:
        raise Refused("41001", "access_token missing")
    if token in state.expired:
        raise Refused("42001", "access_token expired")
    if token != state.token:
        raise Refused("40014", "invalid access_token")
    message = await read_json(request)
    if message.get("agentid") != AGENT_ID:
        raise Refused("40056", "invalid agentid")
    if not message.get("touser"):
        raise Refused("40031", "invalid user list")
    check_content(message, {"markdown": APP_MARKDOWN_MAX_BYTES})
    fault = state.take_fault()
    msgid = f"fake-msgid-{state.next_id()}"
    await state.accept(Call("wecom_app", str(message["touser"]), message, msgid), fault)
    return answer(0, "ok", invaliduser="", msgid=msgid)


@served
async def webhook_send(request: web.Request, state: WeComState) -> web.Response:
    if request.query.get("key") != WEBHOOK_KEY:
        raise Refused("93000", "invalid webhook url")
    message = await read_json(request)
    check_content(message, {"markdown": WEBHOOK_MARKDOWN_MAX_BYTES, "text": TEXT_MAX_BYTES})
    fault = state.take_fault()
    await state.accept(Call("wecom_webhook", "webhook", message), fault)
    return answer(0, "ok")


def create_wecom_app(state: WeComState | None = None) -> web.Application:
    app = web.Application()
    app[WECOM_STATE] = state = state or WeComState()
    app.on_shutdown.append(state.release)
    app.router.add_get("/cgi-bin/gettoken", gettoken)
    app.router.add_post("/cgi-bin/message/send", message_send)
    app.router.add_post("/cgi-bin/webhook/send", webhook_send)
    return app
