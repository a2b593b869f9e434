"""A fake Alibaba Cloud RPC endpoint serving dysmsapi SendSms and dyvmsapi SingleCallByTts on `/`.

The ACS3-HMAC-SHA256 check is written here again from the documentation's text ("V3 request
structure and signature"), deliberately without importing `bot.alerts.channels.signing`: a bug shared
by signer and verifier would otherwise pass unnoticed. Refusals have Alibaba Cloud's error shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from aiohttp import web

from tests.fakes.state import (
    ALIYUN_ACCESS_KEY_ID,
    ALIYUN_ACCESS_KEY_SECRET,
    ALIYUN_SIGN_NAME,
    ALIYUN_SMS_TEMPLATE,
    ALIYUN_TTS_CODE,
    Call,
    FakeState,
    Overloaded,
    Refused,
)

AUTHORIZATION = re.compile(r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})")
REQUIRED_HEADERS: Final = (
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
)
MAX_SKEW_S: Final = 15 * 60
VARIABLE_MAX_CHARS: Final = 35  # a notification template variable
MOBILE = re.compile(r"(\+?86|0086)?1\d{10}")
TEMPLATE_VARIABLES: Final = frozenset({"title", "level", "alert_id"})  # both test templates use these
REQUIRED_PARAMS: Final = {
    "SendSms": ("PhoneNumbers", "SignName", "TemplateCode"),
    "SingleCallByTts": ("CalledNumber", "TtsCode"),
}


@dataclass
class AliyunState(FakeState):
    nonces: set[str] = field(default_factory=set)
    check_time: bool = True


ALIYUN_STATE: Final = web.AppKey("aliyun_state", AliyunState)


def rfc3986(text: str) -> str:
    """Unreserved characters (letters, digits, - _ . ~) as they are, every other UTF-8 byte as %XX."""
    return "".join(
        chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "-_.~") else f"%{b:02X}"
        for b in text.encode("utf-8")
    )


def expected_signature(
    method: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    body: bytes,
    secret: str,
) -> tuple[str, str]:
    """(string to sign, signature) per the spec; `headers` are the received values of the signed headers."""
    canonical_query = "&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in sorted(query))
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [
            method.upper(),
            "/",
            canonical_query,
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    string_to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return string_to_sign, hmac.new(secret.encode(), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def error(request: web.Request, status: int, code: str, message: str) -> web.Response:
    state = request.app[ALIYUN_STATE]
    body = {
        "RequestId": f"FAKE-REQ-{state.next_id()}",
        "HostId": request.host,
        "Code": code,
        "Message": message,
        "Recommend": "https://api.aliyun.com/troubleshoot",
    }
    return web.json_response(body, status=status)


def incomplete() -> Refused:
    return Refused("IncompleteSignature", "The request signature does not conform to Aliyun standards.", 400)


def verify(request: web.Request, body: bytes, state: AliyunState) -> None:
    """Raise the refusal Alibaba Cloud would send unless the signature holds."""
    match = AUTHORIZATION.fullmatch(request.headers.get("Authorization", ""))
    if match is None:
        raise incomplete()
    key_id, signed, signature = match.groups()
    if key_id != ALIYUN_ACCESS_KEY_ID:
        raise Refused("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    names = signed.split(";")
    if names != sorted(names) or not set(REQUIRED_HEADERS) <= set(names):
        raise incomplete()
    if any(name not in request.headers for name in names):
        raise incomplete()
    headers = {name: request.headers[name] for name in names}
    if headers["x-acs-content-sha256"] != hashlib.sha256(body).hexdigest():
        raise Refused("SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body.", 400)
    try:
        sent_at = datetime.strptime(headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused("InvalidTimeStamp.Format", "Specified time stamp is not well formatted.", 400) from None
    if state.check_time and abs((datetime.now(UTC) - sent_at).total_seconds()) > MAX_SKEW_S:
        raise Refused("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", 400)
    query = list(request.query.items())
    sts, wanted = expected_signature(request.method, query, headers, names, body, ALIYUN_ACCESS_KEY_SECRET)
    if not hmac.compare_digest(wanted, signature):
        message = f"Specified signature does not match our calculation. server string to sign is:{sts}"
        raise Refused("SignatureDoesNotMatch", message, 400)
    nonce = headers["x-acs-signature-nonce"]
    if nonce in state.nonces:
        raise Refused("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
    state.nonces.add(nonce)


def check_params(action: str, params: Mapping[str, str]) -> None:
    """Raise what the real API answers to a signed request with bad parameters."""
    for name in REQUIRED_PARAMS[action]:
        if not params.get(name):
            raise Refused(f"Missing{name}", f"{name} is mandatory for this action.", 400)
    if not MOBILE.fullmatch(params.get("PhoneNumbers") or params["CalledNumber"]):
        raise Refused("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
    if action == "SendSms" and params["SignName"] != ALIYUN_SIGN_NAME:
        raise Refused("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
    if action == "SendSms" and params["TemplateCode"] != ALIYUN_SMS_TEMPLATE:
        raise Refused("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
    if action == "SingleCallByTts" and params["TtsCode"] != ALIYUN_TTS_CODE:
        raise Refused("isv.TTS_TEMPLATE_ILLEGAL", "模板不存在")
    try:
        variables = json.loads(params.get("TemplateParam" if action == "SendSms" else "TtsParam", "{}"))
    except ValueError:
        variables = None
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise Refused("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
    if set(variables) != TEMPLATE_VARIABLES:
        raise Refused("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
    if any(len(v) > VARIABLE_MAX_CHARS for v in variables.values()):
        raise Refused("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")


async def serve(request: web.Request, state: AliyunState) -> web.Response:
    body = await request.read()
    verify(request, body, state)
    action = request.headers["x-acs-action"]
    if action not in REQUIRED_PARAMS:
        raise Refused("InvalidAction.NotFound", f"Specified api is not found: {action}", 404)
    if request.headers["x-acs-version"] != "2017-05-25":
        raise Refused("InvalidVersion", "Specified parameter Version is not valid.", 400)
    params = dict(request.query)
    check_params(action, params)
    fault = state.take_fault()
    answer = {"Code": "OK", "Message": "OK", "RequestId": f"FAKE-REQ-{state.next_id()}"}
    if action == "SendSms":
        biz_id = f"{900000 + state.next_id()}^0"
        await state.accept(Call("aliyun_sms", params["PhoneNumbers"], params, biz_id), fault)
        return web.json_response({**answer, "BizId": biz_id})
    call_id = f"{100000 + state.next_id()}^1"
    await state.accept(Call("aliyun_voice", params["CalledNumber"], params, call_id), fault)
    return web.json_response({**answer, "CallId": call_id})


async def rpc(request: web.Request) -> web.Response:
    state = request.app[ALIYUN_STATE]
    state.requests += 1
    try:
        return await serve(request, state)
    except Refused as refusal:
        return error(request, refusal.status, refusal.code, refusal.message)
    except Overloaded as overload:
        return overload.response()


def create_aliyun_app(state: AliyunState | None = None) -> web.Application:
    app = web.Application()
    app[ALIYUN_STATE] = state = state or AliyunState()
    app.on_shutdown.append(state.release)
    app.router.add_route("*", "/", rpc)
    return app
