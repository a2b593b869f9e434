"""A fake Tencent Cloud API 3.0 endpoint serving sms SendSms and vms SendTtsVoice on `/`.

TC3-HMAC-SHA256 is verified by code written here from the "Signature v3" documentation, not by
importing the hub's signer. Errors come back as Tencent sends them: HTTP 200 with `Response.Error`;
an SMS refused for one number comes back inside `SendStatusSet` instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from tests.fakes.state import (
    TENCENT_SECRET_ID,
    TENCENT_SECRET_KEY,
    TENCENT_SIGN_NAME,
    TENCENT_SMS_APP_ID,
    TENCENT_SMS_TEMPLATE,
    TENCENT_VOICE_APP_ID,
    TENCENT_VOICE_TEMPLATE,
    Call,
    FakeState,
    Overloaded,
    Refused,
)

AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})"
)
ACTIONS: Final = {"SendSms": ("sms", "2021-01-11"), "SendTtsVoice": ("vms", "2020-09-02")}
MAX_SKEW_S: Final = 300
VARIABLE_MAX_CHARS: Final = 6  # "非验证码短信：每个变量取值最多支持6个字符"
E164 = re.compile(r"\+\d{8,15}")


@dataclass
class TencentState(FakeState):
    sms_status_codes: deque[str] = field(default_factory=deque)  # next SMS answers: SendStatusSet[0].Code
    check_time: bool = True

    def refuse_next_sms(self, code: str, n: int = 1) -> None:
        """The next `n` SMS requests succeed as a whole but the number is refused with `code`."""
        self.sms_status_codes.extend([code] * n)


TENCENT_STATE: Final = web.AppKey("tencent_state", TencentState)


def expected_signature(
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload: bytes,
    timestamp: str,
    date: str,
    service: str,
    secret_key: str = TENCENT_SECRET_KEY,
) -> tuple[str, str]:
    """(string to sign, signature) of a POST to `/`; `headers` are the received values of the signed headers."""
    canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed_headers)
    canonical_request = (
        f"POST\n/\n\n{canonical_headers}\n{';'.join(signed_headers)}\n{hashlib.sha256(payload).hexdigest()}"
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return string_to_sign, hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def respond(request: web.Request, **response: Any) -> web.Response:
    state = request.app[TENCENT_STATE]
    return web.json_response({"Response": {**response, "RequestId": f"fake-{state.next_id():08d}"}})


def verify(request: web.Request, payload: bytes, state: TencentState) -> None:
    """Raise the refusal Tencent Cloud would send unless the signature holds."""
    match = AUTHORIZATION.fullmatch(request.headers.get("Authorization", ""))
    if match is None:
        raise Refused("AuthFailure.InvalidAuthorization", "Authorization header is malformed.")
    secret_id, date, service, signed, signature = match.groups()
    if secret_id != TENCENT_SECRET_ID:
        raise Refused("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    names = signed.split(";")
    if names != sorted(names) or not {"content-type", "host"} <= set(names):
        raise Refused("AuthFailure.InvalidAuthorization", "SignedHeaders must list content-type and host.")
    if any(name not in request.headers for name in names):
        raise Refused("AuthFailure.InvalidAuthorization", "A signed header is missing.")
    timestamp = request.headers.get("X-TC-Timestamp", "")
    if not timestamp.isdigit():
        raise Refused("MissingParameter", "The request is missing a required parameter `Timestamp`.")
    sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    if state.check_time and abs((datetime.now(UTC) - sent_at).total_seconds()) > MAX_SKEW_S:
        raise Refused("AuthFailure.SignatureExpire", "Signature expired.")
    day = sent_at.strftime("%Y-%m-%d")  # the scope's date is the UTC date of the timestamp
    wanted_service = ACTIONS.get(request.headers.get("X-TC-Action", ""), ("?", ""))[0]
    _, wanted = expected_signature(request.headers, names, payload, timestamp, day, wanted_service)
    if date != day or service != wanted_service or not hmac.compare_digest(wanted, signature):
        message = "The provided credentials could not be validated. Please check your signature is correct."
        raise Refused("AuthFailure.SignatureFailure", message)


def check_sms(body: Mapping[str, Any]) -> None:
    if body.get("SmsSdkAppId") != TENCENT_SMS_APP_ID:
        raise Refused("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist.")
    if body.get("SignName") != TENCENT_SIGN_NAME:
        raise Refused("FailedOperation.SignatureIncorrectOrUnapproved", "The signature is incorrect or unapproved.")
    if body.get("TemplateId") != TENCENT_SMS_TEMPLATE:
        raise Refused("FailedOperation.TemplateIncorrectOrUnapproved", "The template is incorrect or unapproved.")
    phones = body.get("PhoneNumberSet")
    if not isinstance(phones, list) or not phones or not all(isinstance(p, str) for p in phones):
        raise Refused("MissingParameter", "The request is missing a required parameter `PhoneNumberSet`.")
    check_template_params(body)


def check_voice(body: Mapping[str, Any]) -> None:
    if body.get("VoiceSdkAppid") != TENCENT_VOICE_APP_ID:
        raise Refused("InvalidParameterValue.SdkAppIdNotExist", "SdkAppid does not exist.")
    if body.get("TemplateId") != TENCENT_VOICE_TEMPLATE:
        raise Refused("FailedOperation.TemplateIncorrectOrUnapproved", "The template is incorrect or unapproved.")
    if not isinstance(body.get("CalledNumber"), str) or not E164.fullmatch(body["CalledNumber"]):
        raise Refused("InvalidParameterValue.IncorrectPhoneNumber", "The phone number is not in E.164 format.")
    if body.get("PlayTimes", 2) not in (1, 2, 3):
        raise Refused("InvalidParameterValue", "PlayTimes must be 1-3.")
    check_template_params(body)


def check_template_params(body: Mapping[str, Any]) -> None:
    values = body.get("TemplateParamSet")
    if not isinstance(values, list) or len(values) != 3 or not all(isinstance(v, str) for v in values):
        raise Refused("InvalidParameterValue.TemplateParameterFormatError", "The template expects 3 parameters.")
    if any(len(v) > VARIABLE_MAX_CHARS for v in values):
        raise Refused("InvalidParameterValue.TemplateParameterLengthLimit", "A template parameter is too long.")


def read_body(request: web.Request, payload: bytes) -> dict[str, Any]:
    action = request.headers["X-TC-Action"]
    if request.headers.get("X-TC-Version") != ACTIONS[action][1]:
        raise Refused("NoSuchVersion", "The API version does not exist.")
    if not request.headers.get("X-TC-Region"):
        raise Refused("MissingParameter", "The request is missing a required parameter `Region`.")
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Refused("InvalidParameter", "The body is not a JSON object.")
    if action == "SendSms":
        check_sms(body)
    else:
        check_voice(body)
    return body


async def serve(request: web.Request, state: TencentState) -> web.Response:
    payload = await request.read()
    if request.method != "POST" or not request.headers.get("Content-Type", "").startswith("application/json"):
        raise Refused("InvalidParameter", "Only POST with application/json is served here.")
    verify(request, payload, state)
    body = read_body(request, payload)
    fault = state.take_fault()
    if request.headers["X-TC-Action"] == "SendTtsVoice":
        call_id = f"fake-call-{state.next_id()}"
        await state.accept(Call("tencent_voice", body["CalledNumber"], body, call_id), fault)
        return respond(request, SendStatus={"CallId": call_id, "SessionContext": ""})
    phone = body["PhoneNumberSet"][0]
    code = state.sms_status_codes.popleft() if state.sms_status_codes else "Ok"
    if code == "Ok" and not E164.fullmatch(phone):
        code = "InvalidParameterValue.IncorrectPhoneNumber"
    serial = f"5000:fake{state.next_id()}" if code == "Ok" else ""
    if code == "Ok":
        await state.accept(Call("tencent_sms", phone, body, serial), fault)
    status = {
        "SerialNo": serial,
        "PhoneNumber": phone,
        "Fee": 1 if code == "Ok" else 0,
        "SessionContext": "",
        "Code": code,
        "Message": "send success" if code == "Ok" else "refused",
        "IsoCode": "CN",
    }
    return respond(request, SendStatusSet=[status])


async def api(request: web.Request) -> web.Response:
    state = request.app[TENCENT_STATE]
    state.requests += 1
    try:
        return await serve(request, state)
    except Refused as refusal:  # Tencent reports errors with HTTP 200
        return respond(request, Error={"Code": refusal.code, "Message": refusal.message})
    except Overloaded as overload:
        return overload.response()


def create_tencent_app(state: TencentState | None = None) -> web.Application:
    app = web.Application()
    app[TENCENT_STATE] = state = state or TencentState()
    app.on_shutdown.append(state.release)
    app.router.add_route("*", "/", api)
    return app
