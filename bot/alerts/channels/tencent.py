"""Tencent Cloud SMS (SendSms 2021-01-11) and voice notifications (vms SendTtsVoice 2020-09-02).

API 3.0: a POST of a JSON body to `/`, signed with TC3-HMAC-SHA256. Errors come back as HTTP 200 with
`Response.Error`; an SMS can also be refused per number inside `SendStatusSet` while the request as a
whole succeeds, so success is only `SendStatusSet[0].Code == "Ok"`.
"""

from __future__ import annotations

import json
from typing import Any, Final

import aiohttp
from yarl import URL

from bot.alerts.channels.base import AlertDigest, ChannelError, Recipient, Sent
from bot.alerts.channels.common import (
    Reported,
    e164_phone,
    overloaded,
    request,
    require,
    require_phone,
    template_values,
)
from bot.alerts.channels.signing import tc3_sign
from bot.clock import Clock, SystemClock
from bot.settings import TencentSettings

SMS_SERVICE: Final = "sms"
SMS_ACTION: Final = "SendSms"
SMS_VERSION: Final = "2021-01-11"
VOICE_SERVICE: Final = "vms"
VOICE_ACTION: Final = "SendTtsVoice"
VOICE_VERSION: Final = "2020-09-02"
VOICE_PLAY_TIMES: Final = 2
# Tencent: "非验证码短信：每个变量取值最多支持6个字符" — the template text must carry the context.
VARIABLE_MAX_CHARS: Final = 6
# Refusals before acting: rate limits and Tencent-side failures.
RETRYABLE_PREFIXES: Final = ("LimitExceeded", "InternalError", "RequestLimitExceeded")


def failure(what: str, code: str, message: str) -> ChannelError:
    return ChannelError(f"{what}: {code} {message}", retryable=code.startswith(RETRYABLE_PREFIXES), code=code)


class TencentApi:
    """One signed API 3.0 call to one Tencent Cloud service endpoint."""

    def __init__(
        self,
        settings: TencentSettings,
        session: aiohttp.ClientSession,
        endpoint: str,
        service: str,
        *,
        timeout_s: float,
        clock: Clock | None = None,
    ) -> None:
        self._settings = settings
        self._session = session
        self._endpoint = URL(endpoint)
        self._service = service
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock or SystemClock()

    async def call(self, action: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
        """The `Response` object of a successful call."""
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        secret = self._settings.secret_key
        signed = tc3_sign(
            host=self._endpoint.host_port_subcomponent or "",
            service=self._service,
            action=action,
            version=version,
            region=self._settings.region,
            payload=payload,
            secret_id=self._settings.secret_id or "",
            secret_key=secret.get_secret_value() if secret else "",
            now=self._clock.now(),
        )
        what = f"tencent {self._service} {action}"
        url = URL(f"{self._endpoint.origin()}/")
        reply = await request(
            self._session, "POST", url, client_timeout=self._timeout, what=what, headers=signed.headers, data=payload
        )
        if overloaded(reply):
            raise ChannelError(f"{what}: HTTP {reply.status}", retryable=True, code=f"http_{reply.status}")
        response = (reply.body or {}).get("Response")
        if not isinstance(response, dict):
            raise ChannelError(f"{what}: unreadable answer (HTTP {reply.status}): {reply.excerpt()}", retryable=False)
        error = response.get("Error")
        if isinstance(error, dict):
            message = f"{error.get('Message', '')} (RequestId {response.get('RequestId')})"
            raise failure(what, str(error.get("Code")), message)
        return response


class TencentSms(Reported):
    name: str = "sms"

    def __init__(self, settings: TencentSettings, api: TencentApi) -> None:
        self._settings = settings
        self._api = api

    async def _send(self, recipient: Recipient, digest: AlertDigest) -> Sent:
        s = self._settings
        require(
            "tencent",
            [
                ("secret_id", s.secret_id),
                ("secret_key", s.secret_key),
                ("sms_sdk_app_id", s.sms_sdk_app_id),
                ("sms_sign_name", s.sms_sign_name),
                ("sms_template_id", s.sms_template_id),
            ],
        )
        body = {
            "PhoneNumberSet": [e164_phone(require_phone(self.name, recipient))],
            "SmsSdkAppId": s.sms_sdk_app_id,
            "SignName": s.sms_sign_name,
            "TemplateId": s.sms_template_id,
            "TemplateParamSet": list(template_values(digest, VARIABLE_MAX_CHARS)),
        }
        response = await self._api.call(SMS_ACTION, SMS_VERSION, body)
        statuses = response.get("SendStatusSet")
        status = statuses[0] if isinstance(statuses, list) and statuses and isinstance(statuses[0], dict) else {}
        if status.get("Code") != "Ok":
            raise failure("tencent sms SendSms", str(status.get("Code")), str(status.get("Message", "")))
        serial = status.get("SerialNo")
        return Sent("tencent", str(serial) if serial else None)


class TencentVoice(Reported):
    name: str = "phone"

    def __init__(self, settings: TencentSettings, api: TencentApi) -> None:
        self._settings = settings
        self._api = api

    async def _send(self, recipient: Recipient, digest: AlertDigest) -> Sent:
        s = self._settings
        require(
            "tencent",
            [
                ("secret_id", s.secret_id),
                ("secret_key", s.secret_key),
                ("voice_sdk_app_id", s.voice_sdk_app_id),
                ("voice_template_id", s.voice_template_id),
            ],
        )
        body = {
            "TemplateId": s.voice_template_id,
            "TemplateParamSet": list(template_values(digest, VARIABLE_MAX_CHARS)),
            "CalledNumber": e164_phone(require_phone(self.name, recipient)),
            "VoiceSdkAppid": s.voice_sdk_app_id,
            "PlayTimes": VOICE_PLAY_TIMES,
        }
        response = await self._api.call(VOICE_ACTION, VOICE_VERSION, body)
        status = response.get("SendStatus")
        call_id = status.get("CallId") if isinstance(status, dict) else None
        return Sent("tencent", str(call_id) if call_id else None)
