"""Alibaba Cloud SMS (dysmsapi SendSms) and voice calls (dyvmsapi SingleCallByTts) as channels.

Both are RPC-style APIs signed with ACS3-HMAC-SHA256: a POST with an empty body and the parameters
in the query string. We put on the wire exactly the query string we signed, so the provider's
canonical form and ours cannot drift apart through a client library's own encoding.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any, Final

import aiohttp
from yarl import URL

from bot.alerts.channels.base import AlertDigest, ChannelError, Recipient, Sent
from bot.alerts.channels.common import (
    Reported,
    national_phone,
    overloaded,
    request,
    require,
    require_phone,
    template_values,
)
from bot.alerts.channels.signing import acs3_sign, canonical_query
from bot.clock import Clock, SystemClock
from bot.settings import AliyunSettings

SMS_ACTION: Final = "SendSms"
VOICE_ACTION: Final = "SingleCallByTts"
API_VERSION: Final = "2017-05-25"  # both dysmsapi and dyvmsapi
# A "notification" template variable holds at most 35 characters; stay well below.
VARIABLE_MAX_CHARS: Final = 20


def template_param(digest: AlertDigest) -> str:
    title, level, alert_id = template_values(digest, VARIABLE_MAX_CHARS)
    values = {"title": title, "level": level, "alert_id": alert_id}
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


class AliyunRpc:
    """One signed RPC call to one Alibaba Cloud endpoint."""

    def __init__(
        self,
        settings: AliyunSettings,
        session: aiohttp.ClientSession,
        endpoint: str,
        *,
        timeout_s: float,
        clock: Clock | None = None,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        self._settings = settings
        self._session = session
        self._endpoint = URL(endpoint)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock or SystemClock()
        self._nonce = nonce or (lambda: secrets.token_hex(16))

    async def call(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        secret = self._settings.access_key_secret
        signed = acs3_sign(
            method="POST",
            host=self._endpoint.host_port_subcomponent or "",
            action=action,
            version=API_VERSION,
            query=params,
            body=b"",
            access_key_id=self._settings.access_key_id or "",
            access_key_secret=secret.get_secret_value() if secret else "",
            now=self._clock.now(),
            nonce=self._nonce(),
        )
        url = URL(f"{self._endpoint.origin()}/?{canonical_query(params)}", encoded=True)
        what = f"aliyun {action}"
        reply = await request(
            self._session, "POST", url, client_timeout=self._timeout, what=what, headers=signed.headers
        )
        answer = reply.body or {}
        code = answer.get("Code")
        if reply.status == 200 and code == "OK":
            return answer
        if isinstance(code, str) and code.startswith("Throttling"):
            raise ChannelError(f"{what}: {code} {answer.get('Message', '')}", retryable=True, code=code)
        if overloaded(reply):
            raise ChannelError(f"{what}: HTTP {reply.status} {code or ''}", retryable=True, code=f"http_{reply.status}")
        if not isinstance(code, str):
            raise ChannelError(f"{what}: unreadable answer (HTTP {reply.status}): {reply.excerpt()}", retryable=False)
        raise ChannelError(f"{what}: {code} {answer.get('Message', '')}", retryable=False, code=code)


class AliyunSms(Reported):
    name: str = "sms"

    def __init__(self, settings: AliyunSettings, rpc: AliyunRpc) -> None:
        self._settings = settings
        self._rpc = rpc

    async def _send(self, recipient: Recipient, digest: AlertDigest) -> Sent:
        s = self._settings
        require(
            "aliyun",
            [
                ("access_key_id", s.access_key_id),
                ("access_key_secret", s.access_key_secret),
                ("sms_sign_name", s.sms_sign_name),
                ("sms_template_code", s.sms_template_code),
            ],
        )
        phone = national_phone(require_phone(self.name, recipient))
        params = {
            "PhoneNumbers": phone,
            "SignName": s.sms_sign_name or "",
            "TemplateCode": s.sms_template_code or "",
            "TemplateParam": template_param(digest),
        }
        answer = await self._rpc.call(SMS_ACTION, params)
        biz_id = answer.get("BizId")
        return Sent("aliyun", str(biz_id) if biz_id else None)


class AliyunVoice(Reported):
    name: str = "phone"

    def __init__(self, settings: AliyunSettings, rpc: AliyunRpc) -> None:
        self._settings = settings
        self._rpc = rpc

    async def _send(self, recipient: Recipient, digest: AlertDigest) -> Sent:
        s = self._settings
        require(
            "aliyun",
            [("access_key_id", s.access_key_id), ("access_key_secret", s.access_key_secret), ("tts_code", s.tts_code)],
        )
        params = {
            "CalledNumber": national_phone(require_phone(self.name, recipient)),
            "TtsCode": s.tts_code or "",
            "TtsParam": template_param(digest),
        }
        if s.called_show_number:  # without it the call goes out in the shared-number ("public") mode
            params["CalledShowNumber"] = s.called_show_number
        answer = await self._rpc.call(VOICE_ACTION, params)
        call_id = answer.get("CallId")
        return Sent("aliyun", str(call_id) if call_id else None)
