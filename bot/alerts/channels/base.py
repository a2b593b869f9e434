"""What every notification channel implements, and how it reports failure.

A channel sends one message (a digest of one or more alerts) to one recipient and returns the
provider's id for it. It raises `ChannelError`; `retryable=True` only when the provider surely did not
act on the request (no connection was made, HTTP 429, a 5xx before acceptance, an expired WeCom token
refreshed and still refused...). Anything else — a timeout, a reset after sending, an unknown answer —
is not retryable: a phone call or an SMS is never re-sent blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Recipient:
    name: str  # a person's name from rules/people.yaml, or a target label ("webhook", a group name)
    wecom_userid: str | None = None
    phone: str | None = None  # digits, may start with +86
    mentions: tuple[str, ...] = ()  # webhook: mobiles to @; group channels: display names to @


@dataclass(frozen=True)
class AlertDigest:
    """One outgoing message about one or more alerts that fired together for one recipient."""

    alert_ids: tuple[int, ...]
    level: int  # the highest level among them (1-4)
    level_name: str  # e.g. 紧急告警
    title: str  # one line, e.g. "投诉未处理 · 客户群1" (or "3 条告警" for several)
    text: str  # plain text (WeCom text, SMS/voice template variable `content`)
    markdown: str  # WeCom markdown


@dataclass(frozen=True)
class Sent:
    provider: str  # wecom | webhook | aliyun | tencent | worktool
    provider_id: str | None  # msgid / BizId / CallId / SerialNo...


class ChannelError(Exception):
    def __init__(self, message: str, *, retryable: bool, code: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class NotConfigured(ChannelError):
    """The channel lacks credentials or the recipient lacks an address (no userid, no phone)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, code="not_configured")


class Channel(Protocol):
    name: str  # wecom_app | wecom_webhook | phone | sms

    async def send(self, recipient: Recipient, digest: AlertDigest) -> Sent: ...
