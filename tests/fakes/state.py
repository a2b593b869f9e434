"""What every fake provider shares: the test credentials, the record of accepted requests, and the
fault controls ("the next N requests answer 500 / 429 / this error code / hang").

Only accepted requests are recorded in `calls` — the ones the real provider would have acted on. A
request told to hang is accepted (recorded) and then answered late: exactly the case where a client
cannot know whether the SMS went out, which is why a timeout must not be retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

# WeCom
CORP_ID: Final = "wwfakecorp0000001"
AGENT_ID: Final = 1000002
CORP_SECRET: Final = "fake-corp-secret-0123456789abcdefghijklmno"
WEBHOOK_KEY: Final = "fake-webhook-key-0123-4567-89ab"
# Alibaba Cloud
ALIYUN_ACCESS_KEY_ID: Final = "LTAIfakeAccessKeyId01"
ALIYUN_ACCESS_KEY_SECRET: Final = "fakeAccessKeySecret0123456789ab"
ALIYUN_SIGN_NAME: Final = "工单助手"
ALIYUN_SMS_TEMPLATE: Final = "SMS_000000001"
ALIYUN_TTS_CODE: Final = "TTS_000000001"
# Tencent Cloud
TENCENT_SECRET_ID: Final = "AKIDfakeSecretId0123456789abcdefgh"
TENCENT_SECRET_KEY: Final = "fakeSecretKey0123456789abcdefghij"
TENCENT_SMS_APP_ID: Final = "1400000001"
TENCENT_SIGN_NAME: Final = "工单助手"
TENCENT_SMS_TEMPLATE: Final = "100001"
TENCENT_VOICE_APP_ID: Final = "1400000002"
TENCENT_VOICE_TEMPLATE: Final = "200001"

HANG_MAX_S: Final = 30.0


@dataclass(frozen=True)
class Call:
    channel: str  # wecom_app | wecom_webhook | aliyun_sms | aliyun_voice | tencent_sms | tencent_voice
    recipient: str  # WeCom userid, phone number as sent, or "webhook"
    params: dict[str, Any]
    provider_id: str | None = None  # the id the fake answered with (msgid, BizId, CallId, SerialNo)


@dataclass(frozen=True)
class Fault:
    status: int = 200
    code: str | None = None  # the provider's error code (WeCom: errcode as text)
    hang_s: float | None = None


@dataclass
class FakeState:
    calls: list[Call] = field(default_factory=list)
    requests: int = 0  # every request that reached the fake, accepted or not
    faults: deque[Fault] = field(default_factory=deque)
    released: asyncio.Event = field(default_factory=asyncio.Event)  # set at shutdown: hanging requests end
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int | None = None,
        code: str | None = None,
        hang_s: float | None = None,
        skip: int = 0,
    ) -> None:
        """After letting `skip` valid requests through, the next `n`: answer `status` (500, 429...), or the
        provider error `code` (with `status`, default 200), or accept and answer only after `hang_s`."""
        self.faults.extend([Fault()] * skip)
        if hang_s is not None:
            fault = Fault(hang_s=hang_s)
        elif code is not None:
            fault = Fault(status=status or 200, code=code)
        else:
            fault = Fault(status=status or 500)
        self.faults.extend([fault] * n)

    def take_fault(self) -> Fault | None:
        """The next fault, if any; raises for a refusing one, returns a hanging one for `accept`."""
        fault = self.faults.popleft() if self.faults else None
        if fault is not None and fault.code is not None:
            raise Refused(fault.code, "fault injected", fault.status)
        if fault is not None and fault.status >= 400:
            raise Overloaded(fault.status)
        return fault

    def next_id(self) -> int:
        return next(self._ids)

    def of(self, channel: str) -> list[Call]:
        return [call for call in self.calls if call.channel == channel]

    async def release(self, _app: web.Application) -> None:
        """An `on_shutdown` hook: let hanging handlers finish so the server stops at once."""
        self.released.set()

    async def accept(self, call: Call, fault: Fault | None) -> None:
        """Record an accepted request; hang first when told to (the provider acted, the answer is late)."""
        self.calls.append(call)
        if fault is not None and fault.hang_s is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), min(fault.hang_s, HANG_MAX_S))


class Refused(Exception):
    """The provider refuses the request: the fake answers in that provider's error shape."""

    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class Overloaded(Exception):
    """A plain HTTP error (429, 5xx) as a gateway in front of the provider would give it."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status

    def response(self) -> web.Response:
        return web.Response(status=self.status, text=f"fault injected: HTTP {self.status}")
