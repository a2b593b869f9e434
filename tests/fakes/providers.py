"""Start all fake providers on free ports on 127.0.0.1 and tell the hub where they are.

    async with run_fake_providers() as fakes:
        env = fakes.env()                  # HUB__ALERTS__… for a hub process (endpoints + credentials)
        settings = fakes.alert_settings()  # or AlertSettings for building channels in-process
        ...
        assert len(fakes.aliyun.of("aliyun_sms")) == 1

Each fake keeps its own state (`fakes.wecom`, `fakes.aliyun`, `fakes.tencent`): the accepted `calls`
and the fault controls (`fail_next`, `expire_token`, `refuse_next_sms`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from bot.settings import AlertSettings, load_settings
from tests.fakes.aliyun import AliyunState, create_aliyun_app
from tests.fakes.state import (
    AGENT_ID,
    ALIYUN_ACCESS_KEY_ID,
    ALIYUN_ACCESS_KEY_SECRET,
    ALIYUN_SIGN_NAME,
    ALIYUN_SMS_TEMPLATE,
    ALIYUN_TTS_CODE,
    CORP_ID,
    CORP_SECRET,
    TENCENT_SECRET_ID,
    TENCENT_SECRET_KEY,
    TENCENT_SIGN_NAME,
    TENCENT_SMS_APP_ID,
    TENCENT_SMS_TEMPLATE,
    TENCENT_VOICE_APP_ID,
    TENCENT_VOICE_TEMPLATE,
    WEBHOOK_KEY,
)
from tests.fakes.tencent import TencentState, create_tencent_app
from tests.fakes.wecom import WeComState, create_wecom_app

Provider = Literal["aliyun", "tencent"]


@dataclass
class FakeProviders:
    wecom: WeComState
    aliyun: AliyunState
    tencent: TencentState
    wecom_url: str  # app API and group robot webhook
    aliyun_url: str  # SMS and voice share one fake: Alibaba Cloud RPC dispatches on x-acs-action
    tencent_url: str  # SMS and voice share one fake: API 3.0 dispatches on X-TC-Action

    @property
    def webhook_url(self) -> str:
        return self.wecom_url

    @property
    def aliyun_sms_url(self) -> str:
        return self.aliyun_url

    @property
    def aliyun_voice_url(self) -> str:
        return self.aliyun_url

    @property
    def tencent_sms_url(self) -> str:
        return self.tencent_url

    @property
    def tencent_voice_url(self) -> str:
        return self.tencent_url

    def env(self, *, phone_provider: Provider = "aliyun", sms_provider: Provider = "aliyun") -> dict[str, str]:
        """Everything a hub process needs to send through these fakes, as `HUB__ALERTS__…` variables."""
        values = {
            "PHONE_PROVIDER": phone_provider,
            "SMS_PROVIDER": sms_provider,
            "WECOM__API_BASE": self.wecom_url,
            "WECOM__CORP_ID": CORP_ID,
            "WECOM__AGENT_ID": str(AGENT_ID),
            "WECOM__SECRET": CORP_SECRET,
            "WEBHOOK__API_BASE": self.webhook_url,
            "WEBHOOK__KEY": WEBHOOK_KEY,
            "ALIYUN__SMS_ENDPOINT": self.aliyun_sms_url,
            "ALIYUN__VOICE_ENDPOINT": self.aliyun_voice_url,
            "ALIYUN__ACCESS_KEY_ID": ALIYUN_ACCESS_KEY_ID,
            "ALIYUN__ACCESS_KEY_SECRET": ALIYUN_ACCESS_KEY_SECRET,
            "ALIYUN__SMS_SIGN_NAME": ALIYUN_SIGN_NAME,
            "ALIYUN__SMS_TEMPLATE_CODE": ALIYUN_SMS_TEMPLATE,
            "ALIYUN__TTS_CODE": ALIYUN_TTS_CODE,
            "TENCENT__SMS_ENDPOINT": self.tencent_sms_url,
            "TENCENT__VOICE_ENDPOINT": self.tencent_voice_url,
            "TENCENT__SECRET_ID": TENCENT_SECRET_ID,
            "TENCENT__SECRET_KEY": TENCENT_SECRET_KEY,
            "TENCENT__SMS_SDK_APP_ID": TENCENT_SMS_APP_ID,
            "TENCENT__SMS_SIGN_NAME": TENCENT_SIGN_NAME,
            "TENCENT__SMS_TEMPLATE_ID": TENCENT_SMS_TEMPLATE,
            "TENCENT__VOICE_SDK_APP_ID": TENCENT_VOICE_APP_ID,
            "TENCENT__VOICE_TEMPLATE_ID": TENCENT_VOICE_TEMPLATE,
        }
        return {f"HUB__ALERTS__{name}": value for name, value in values.items()}

    def alert_settings(
        self, *, phone_provider: Provider = "aliyun", sms_provider: Provider = "aliyun"
    ) -> AlertSettings:
        """The same configuration through the real settings loader (so the env names above are checked)."""
        env = self.env(phone_provider=phone_provider, sms_provider=sms_provider)
        return load_settings(None, environ=env).alerts


async def _serve(app: web.Application, stack: contextlib.AsyncExitStack) -> str:
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def run_fake_providers() -> AsyncIterator[FakeProviders]:
    """WeCom, Alibaba Cloud and Tencent Cloud fakes on free ports, stopped on exit."""
    wecom, aliyun, tencent = WeComState(), AliyunState(), TencentState()
    async with contextlib.AsyncExitStack() as stack:
        yield FakeProviders(
            wecom=wecom,
            aliyun=aliyun,
            tencent=tencent,
            wecom_url=await _serve(create_wecom_app(wecom), stack),
            aliyun_url=await _serve(create_aliyun_app(aliyun), stack),
            tencent_url=await _serve(create_tencent_app(tencent), stack),
        )
