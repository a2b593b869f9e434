"""What the HTTP channels share: one request with the transport failures classified, phone formats,
short template values, the config check and the log line per send.

The classification follows `base.ChannelError`: retryable only when the provider surely did not act.
No connection (refused, DNS, connect timeout) → retryable. A timeout after the request went out, or a
connection broken mid-answer → not retryable: an SMS or a phone call is never repeated blindly.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from yarl import URL

from bot.alerts.channels.base import AlertDigest, ChannelError, NotConfigured, Recipient, Sent

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] | None  # the JSON object, None when the answer was not one
    text: str

    def excerpt(self) -> str:
        return self.text[:200]


async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    *,
    client_timeout: aiohttp.ClientTimeout,
    what: str,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> Reply:
    """One HTTP exchange; transport failures become classified `ChannelError`s. `what` must hold no secret."""
    try:
        async with session.request(method, url, headers=headers, data=data, timeout=client_timeout) as resp:
            text = await resp.text(errors="replace")
            status = resp.status
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:  # nothing was sent
        raise ChannelError(f"{what}: cannot connect: {exc}", retryable=True, code="connect") from exc
    except TimeoutError as exc:  # the request went out: the provider may have acted
        raise ChannelError(f"{what}: no answer in time", retryable=False, code="timeout") from exc
    except aiohttp.ClientError as exc:
        raise ChannelError(f"{what}: {type(exc).__name__}: {exc}", retryable=False, code="transport") from exc
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return Reply(status, parsed if isinstance(parsed, dict) else None, text)


def overloaded(reply: Reply) -> bool:
    """HTTP 429 or 5xx: the provider refused before acting (the channels' contract treats these as retryable)."""
    return reply.status == 429 or reply.status >= 500


def require(section: str, values: Sequence[tuple[str, object]]) -> None:
    """Raise NotConfigured naming every missing key, e.g. `alerts.aliyun.access_key_id is not set`."""
    missing = [f"alerts.{section}.{key}" for key, value in values if value is None or value == ""]
    if missing:
        raise NotConfigured(", ".join(missing) + (" is not set" if len(missing) == 1 else " are not set"))


def require_phone(channel: str, recipient: Recipient) -> str:
    digits = (recipient.phone or "").strip().replace(" ", "").replace("-", "")
    if not digits:
        raise NotConfigured(f"{channel}: recipient {recipient.name} has no phone number")
    return digits


def national_phone(phone: str) -> str:
    """Aliyun's format: 11 digits for mainland China, country code + number otherwise (no `+`)."""
    if phone.startswith("+86") and len(phone) == 14:
        return phone[3:]
    return phone.removeprefix("+")


def e164_phone(phone: str) -> str:
    """Tencent's format: +[country code][number]."""
    if phone.startswith("+"):
        return phone
    if len(phone) == 11 and phone.startswith("1"):
        return "+86" + phone
    return "+" + phone


def clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def template_values(digest: AlertDigest, max_chars: int) -> tuple[str, str, str]:
    """(title, level, alert id), each at most `max_chars`: providers limit every template variable."""
    first = str(digest.alert_ids[0]) if digest.alert_ids else "-"
    alert_id = first if len(digest.alert_ids) <= 1 else f"{first}等{len(digest.alert_ids)}条"
    if len(alert_id) > max_chars:
        alert_id = first
    return clip(digest.title, max_chars), clip(digest.level_name, max_chars), clip(alert_id, max_chars)


def clip_utf8(text: str, max_bytes: int) -> str:
    """WeCom limits message content in bytes; cut on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[: max_bytes - 3].decode("utf-8", "ignore") + "…"


async def report(channel: str, recipient: Recipient, digest: AlertDigest, sending: Awaitable[Sent]) -> Sent:
    """Await a send and log its outcome once, with the alert ids (never addresses or secrets)."""
    fields = {"channel": channel, "recipient": recipient.name, "alert_ids": list(digest.alert_ids)}
    try:
        sent = await sending
    except NotConfigured as exc:
        log.warning("alert notification not configured", **fields, error=str(exc))
        raise
    except ChannelError as exc:
        log.warning("alert notification failed", **fields, code=exc.code, retryable=exc.retryable, error=str(exc))
        raise
    log.info("alert notification sent", **fields, provider=sent.provider, provider_id=sent.provider_id)
    return sent


class Reported:
    """A channel whose every send is logged once, by `report`; subclasses write `_send`."""

    name: str

    async def send(self, recipient: Recipient, digest: AlertDigest) -> Sent:
        return await report(self.name, recipient, digest, self._send(recipient, digest))

    async def _send(self, recipient: Recipient, digest: AlertDigest) -> Sent:
        raise NotImplementedError
