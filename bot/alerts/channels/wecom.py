"""WeCom channels: app messages to members (`wecom_app`) and a group robot webhook (`wecom_webhook`).

The app's access_token lives in Redis so every process (server, workers) shares one: `gettoken` is
rate-limited by WeCom and within its validity returns the same token anyway. When Redis fails we keep
sending with an in-process copy — notifications matter more than the cache. A token WeCom refuses
(40014 invalid, 42001 expired, 40001 invalid credential) is dropped, fetched again, and the message
sent once more: WeCom did not act on a message it refused for its token.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from yarl import URL

from bot.alerts.channels.base import AlertDigest, ChannelError, NotConfigured, Recipient, Sent
from bot.alerts.channels.common import Reply, Reported, clip_utf8, overloaded, request, require
from bot.clock import Clock, SystemClock
from bot.settings import WebhookSettings, WeComSettings

log = structlog.get_logger(__name__)
CACHE_KEY: Final = "hub:wecom:token:{corp_id}:{agent_id}"
TOKEN_MARGIN_S: Final = 300  # stop using a token 5 minutes before WeCom says it expires
TOKEN_ERRCODES: Final = frozenset({40014, 42001, 40001})
RETRYABLE_ERRCODES: Final = frozenset({-1, 45009})  # system busy; API frequency limit
APP_MARKDOWN_MAX_BYTES: Final = 2048
WEBHOOK_MARKDOWN_MAX_BYTES: Final = 4096


def errcode_of(reply: Reply, what: str) -> tuple[int, dict[str, Any]]:
    """WeCom's `errcode`, after HTTP-level failures; raises for an answer that is not WeCom's JSON."""
    if overloaded(reply):
        raise ChannelError(f"{what}: HTTP {reply.status}", retryable=True, code=f"http_{reply.status}")
    if reply.body is None or not isinstance(reply.body.get("errcode"), int):
        raise ChannelError(f"{what}: unreadable answer (HTTP {reply.status}): {reply.excerpt()}", retryable=False)
    return reply.body["errcode"], reply.body


def refused(what: str, errcode: int, body: dict[str, Any], *, retryable: bool | None = None) -> ChannelError:
    retry = errcode in RETRYABLE_ERRCODES if retryable is None else retryable
    return ChannelError(f"{what}: errcode {errcode} {body.get('errmsg', '')}", retryable=retry, code=str(errcode))


class TokenCache:
    """Redis first; an in-process copy for when Redis errors."""

    def __init__(self, redis: Redis | None, clock: Clock) -> None:
        self._redis = redis
        self._clock = clock
        self._memory: dict[str, tuple[datetime, str]] = {}

    async def get(self, key: str) -> str | None:
        if self._redis is not None:
            try:
                raw = await self._redis.get(key)
            except RedisError as exc:
                log.warning("wecom token cache read failed; using the in-process copy", error=str(exc))
            else:
                return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)
        entry = self._memory.get(key)
        return entry[1] if entry and self._clock.now() < entry[0] else None

    async def put(self, key: str, token: str, ttl_s: int) -> None:
        self._memory[key] = (self._clock.now() + timedelta(seconds=ttl_s), token)
        if self._redis is not None:
            try:
                await self._redis.set(key, token, ex=ttl_s)
            except RedisError as exc:
                log.warning("wecom token cache write failed", error=str(exc))

    async def drop(self, key: str) -> None:
        self._memory.pop(key, None)
        if self._redis is not None:
            try:
                await self._redis.delete(key)
            except RedisError as exc:
                log.warning("wecom token cache delete failed", error=str(exc))


class WeComApp(Reported):
    name: str = "wecom_app"

    def __init__(
        self,
        settings: WeComSettings,
        session: aiohttp.ClientSession,
        redis: Redis | None,
        *,
        timeout_s: float,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self._session = session
        self._base = URL(settings.api_base.rstrip("/"))
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._tokens = TokenCache(redis, clock or SystemClock())
        self._key = CACHE_KEY.format(corp_id=settings.corp_id, agent_id=settings.agent_id)
        self._lock = asyncio.Lock()  # one gettoken at a time in this process

    async def _send(self, recipient: Recipient, digest: AlertDigest) -> Sent:
        s = self._settings
        require("wecom", [("corp_id", s.corp_id), ("agent_id", s.agent_id), ("secret", s.secret)])
        if not recipient.wecom_userid:
            raise NotConfigured(f"wecom_app: recipient {recipient.name} has no wecom_userid")
        message = {
            "touser": recipient.wecom_userid,
            "msgtype": "markdown",
            "agentid": s.agent_id,
            "markdown": {"content": clip_utf8(digest.markdown, APP_MARKDOWN_MAX_BYTES)},
        }
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        errcode, answer = await self._post(await self._token(), body)
        if errcode in TOKEN_ERRCODES:
            log.info("wecom refused the access token; fetching a new one", errcode=errcode)
            await self._tokens.drop(self._key)
            errcode, answer = await self._post(await self._token(), body)
            if errcode in TOKEN_ERRCODES:  # refused again, still before acting on the message
                raise refused("wecom message/send after a token refresh", errcode, answer, retryable=True)
        if errcode != 0:
            raise refused("wecom message/send", errcode, answer)
        if answer.get("invaliduser"):
            raise ChannelError(
                f"wecom message/send: invalid user {answer['invaliduser']}", retryable=False, code="invaliduser"
            )
        msgid = answer.get("msgid")
        return Sent("wecom", str(msgid) if msgid else None)

    async def _post(self, token: str, body: bytes) -> tuple[int, dict[str, Any]]:
        url = (self._base / "cgi-bin/message/send").with_query(access_token=token)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        reply = await request(
            self._session,
            "POST",
            url,
            client_timeout=self._timeout,
            what="wecom message/send",
            headers=headers,
            data=body,
        )
        return errcode_of(reply, "wecom message/send")

    async def _token(self) -> str:
        async with self._lock:
            token = await self._tokens.get(self._key)
            if token is None:
                token, expires_in = await self._fetch_token()
                await self._tokens.put(self._key, token, max(expires_in - TOKEN_MARGIN_S, 1))
            return token

    async def _fetch_token(self) -> tuple[str, int]:
        secret = self._settings.secret.get_secret_value() if self._settings.secret else ""
        url = (self._base / "cgi-bin/gettoken").with_query(corpid=self._settings.corp_id or "", corpsecret=secret)
        try:  # the message was not sent yet: any failure here is safe to retry
            reply = await request(self._session, "GET", url, client_timeout=self._timeout, what="wecom gettoken")
        except ChannelError as exc:
            raise ChannelError(str(exc), retryable=True, code=exc.code) from exc
        errcode, answer = errcode_of(reply, "wecom gettoken")
        token, expires_in = answer.get("access_token"), answer.get("expires_in", 7200)
        if errcode != 0 or not isinstance(token, str) or not isinstance(expires_in, int):
            raise refused("wecom gettoken", errcode, answer)
        log.info("wecom access token fetched", corp_id=self._settings.corp_id, expires_in=expires_in)
        return token, expires_in


class WeComWebhook(Reported):
    name: str = "wecom_webhook"

    def __init__(self, settings: WebhookSettings, session: aiohttp.ClientSession, *, timeout_s: float) -> None:
        self._settings = settings
        self._session = session
        self._base = URL(settings.api_base.rstrip("/"))
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def _send(self, recipient: Recipient, digest: AlertDigest) -> Sent:
        require("webhook", [("key", self._settings.key)])
        content = clip_utf8(digest.markdown, WEBHOOK_MARKDOWN_MAX_BYTES)
        await self._post({"msgtype": "markdown", "markdown": {"content": content}})
        if recipient.mentions:  # markdown cannot @ by mobile: a text message does it
            ids = "、".join(f"#{alert_id}" for alert_id in digest.alert_ids)
            text = {"content": f"请及时处理告警 {ids}", "mentioned_mobile_list": list(recipient.mentions)}
            try:
                await self._post({"msgtype": "text", "text": text})
            except ChannelError as exc:  # the alert itself went out; re-sending it would duplicate it
                log.warning("wecom webhook mention failed", alert_ids=list(digest.alert_ids), error=str(exc))
        return Sent("webhook", None)

    async def _post(self, message: dict[str, Any]) -> None:
        key = self._settings.key.get_secret_value() if self._settings.key else ""
        url = (self._base / "cgi-bin/webhook/send").with_query(key=key)
        reply = await request(
            self._session,
            "POST",
            url,
            client_timeout=self._timeout,
            what="wecom webhook/send",
            headers={"Content-Type": "application/json; charset=utf-8"},
            data=json.dumps(message, ensure_ascii=False).encode("utf-8"),
        )
        errcode, answer = errcode_of(reply, "wecom webhook/send")
        if errcode != 0:
            raise refused("wecom webhook/send", errcode, answer)
