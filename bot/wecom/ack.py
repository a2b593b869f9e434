"""Acknowledging alerts from a WeCom app reply: the reply syntax (pure) and the seam to the alerts service.

Members answer an alert in the WeCom app with `已处理 #12` (resolve) or `接手 #12` (claim). The callback route
parses that with `parse_ack` and hands each id to whatever is registered under `ACKNOWLEDGER`; the alerts
service owns the state change, so this package never touches alert rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from aiohttp import web

AckAction = Literal["resolve", "claim"]

VERBS: Final[dict[str, AckAction]] = {
    "已处理": "resolve",
    "已解决": "resolve",
    "处理好了": "resolve",
    "接手": "claim",
    "我来处理": "claim",
    "我来跟进": "claim",
}

# Longest first, so "我来处理" is never read as something shorter.
_VERB: Final = "|".join(re.escape(verb) for verb in sorted(VERBS, key=len, reverse=True))
_ID: Final = r"#?\s*\d{1,12}(?!\d)"
_IDS: Final = rf"{_ID}(?:[\s,，、]*{_ID})*"
_END: Final = r"[\s。.!！~～]*"
_VERB_FIRST: Final = re.compile(rf"^(?P<verb>{_VERB})\s*[:：]?\s*(?P<ids>{_IDS}){_END}$")
_IDS_FIRST: Final = re.compile(rf"^(?P<ids>{_IDS})\s*(?P<verb>{_VERB}){_END}$")
_NUMBER: Final = re.compile(r"\d{1,12}")


@dataclass(frozen=True)
class Ack:
    """What a member asked for: one action on one or more alerts (ids in the order written, no repeats)."""

    action: AckAction
    alert_ids: tuple[int, ...]


@dataclass(frozen=True)
class AckOutcome:
    """What happened to one alert, in words the member reads (e.g. "告警 #12 已被 张经理 接手")."""

    alert_id: int
    done: bool
    message: str


class Acknowledger(Protocol):
    """Implemented by the alerts service. Must be idempotent: WeCom retries, and members repeat themselves."""

    async def acknowledge(self, alert_id: int, action: AckAction, actor: str, via: str) -> AckOutcome: ...


ACKNOWLEDGER: Final = web.AppKey("wecom_acknowledger", Acknowledger)


def parse_ack(text: str) -> Ack | None:
    """`已处理 #12`, `接手#12 #13`, `#12 已处理`, `已解决：12、13` → an Ack; anything else → None.

    Strict on purpose: the whole message must be the verb and the ids, so chatter that happens to contain a
    number ("处理一下 12吧") never closes an alert.
    """
    normalised = " ".join(text.replace("＃", "#").split())
    match = _VERB_FIRST.match(normalised) or _IDS_FIRST.match(normalised)
    if match is None:
        return None
    # int() also reads full-width digits ("＃１２"), which \d matches.
    ids = dict.fromkeys(int(number) for number in _NUMBER.findall(match["ids"]))
    return Ack(VERBS[match["verb"]], tuple(ids))
