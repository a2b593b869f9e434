"""The outgoing notification channels, built once per process from `AlertSettings`.

Every channel name is always present: one whose configuration is incomplete (or whose provider is
turned off) still exists and raises `NotConfigured` naming the missing keys when used, so the
escalation records "not configured" against the step instead of silently skipping it.
"""

from __future__ import annotations

import aiohttp
from redis.asyncio import Redis

from bot.alerts.channels.aliyun import AliyunRpc, AliyunSms, AliyunVoice
from bot.alerts.channels.base import AlertDigest, Channel, ChannelError, NotConfigured, Recipient, Sent
from bot.alerts.channels.common import Reported
from bot.alerts.channels.tencent import SMS_SERVICE, VOICE_SERVICE, TencentApi, TencentSms, TencentVoice
from bot.alerts.channels.wecom import WeComApp, WeComWebhook
from bot.clock import Clock
from bot.settings import AlertSettings

__all__ = [
    "AlertDigest",
    "Channel",
    "ChannelError",
    "NotConfigured",
    "Recipient",
    "Sent",
    "Unavailable",
    "build_channels",
]


class Unavailable(Reported):
    """A channel turned off in the settings (`phone_provider: null`)."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self._reason = reason

    async def _send(self, recipient: Recipient, digest: AlertDigest) -> Sent:  # noqa: ARG002 - refuses any
        raise NotConfigured(self._reason)


def build_channels(
    settings: AlertSettings,
    session: aiohttp.ClientSession,
    redis: Redis | None,
    *,
    clock: Clock | None = None,
) -> dict[str, Channel]:
    """Channels keyed by name: wecom_app, wecom_webhook, phone, sms. They share the process's session."""
    timeout_s = settings.request_timeout_s
    aliyun, tencent = settings.aliyun, settings.tencent
    phone: Channel
    sms: Channel
    if settings.phone_provider == "aliyun":
        phone = AliyunVoice(aliyun, AliyunRpc(aliyun, session, aliyun.voice_endpoint, timeout_s=timeout_s, clock=clock))
    elif settings.phone_provider == "tencent":
        api = TencentApi(tencent, session, tencent.voice_endpoint, VOICE_SERVICE, timeout_s=timeout_s, clock=clock)
        phone = TencentVoice(tencent, api)
    else:
        phone = Unavailable("phone", "alerts.phone_provider is not set")
    if settings.sms_provider == "aliyun":
        sms = AliyunSms(aliyun, AliyunRpc(aliyun, session, aliyun.sms_endpoint, timeout_s=timeout_s, clock=clock))
    elif settings.sms_provider == "tencent":
        sms = TencentSms(
            tencent, TencentApi(tencent, session, tencent.sms_endpoint, SMS_SERVICE, timeout_s=timeout_s, clock=clock)
        )
    else:
        sms = Unavailable("sms", "alerts.sms_provider is not set")
    return {
        "wecom_app": WeComApp(settings.wecom, session, redis, timeout_s=timeout_s, clock=clock),
        "wecom_webhook": WeComWebhook(settings.webhook, session, timeout_s=timeout_s),
        "phone": phone,
        "sms": sms,
    }


def readiness(settings: AlertSettings) -> dict[str, bool]:
    """Which channels have their credentials (for the start-up log line; sends still check in detail)."""
    aliyun, tencent = settings.aliyun, settings.tencent
    providers = {
        "aliyun": bool(aliyun.access_key_id and aliyun.access_key_secret),
        "tencent": bool(tencent.secret_id and tencent.secret_key),
    }
    return {
        "wecom_app": settings.wecom.configured,
        "wecom_webhook": settings.webhook.key is not None,
        "worktool_group": bool(settings.worktool_group),
        "phone": settings.phone_provider is not None and providers[settings.phone_provider],
        "sms": settings.sms_provider is not None and providers[settings.sms_provider],
    }
