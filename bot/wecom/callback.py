"""WeCom → us: `GET|POST /wecom/callback`, where members acknowledge alerts by replying in the WeCom app.

GET is WeCom's URL check (answer the decrypted echostr). POST carries an encrypted message: verify →
decrypt → parse → dedup by MsgId → acknowledge → an encrypted passive reply telling the member what
happened. WeCom retries a callback not answered within 5 s, so acknowledging gets a budget; past it the
member is told it is in progress and the work finishes in a tracked task.
"""

from __future__ import annotations

import asyncio
import re
import struct
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Final
from xml.parsers.expat import ExpatError

import structlog
import xmltodict  # type: ignore[import-untyped]  # wechatpy's own XML parser; no stubs
from aiohttp import web
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.enterprise.messages import TextMessage
from wechatpy.enterprise.replies import TextReply
from wechatpy.exceptions import InvalidSignatureException

from bot.api.envelope import ApiError
from bot.keys import CLOCK, DIRECTORY, SETTINGS
from bot.rules.people import Directory, PersonRule
from bot.settings import Settings
from bot.wecom.ack import ACKNOWLEDGER, Ack, Acknowledger, AckOutcome, parse_ack

__all__ = ["ACKNOWLEDGER", "RECENT_ACKS", "RecentAcks", "routes", "setup_wecom", "wecom_crypto"]

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

PATH: Final = "/wecom/callback"
VIA: Final = "wecom"
REPLY_BUDGET_S: Final = 3.0  # WeCom gives up after 5 s and retries; leave room for the network
MAX_BODY_BYTES: Final = 64 * 1024  # a WeCom text callback is ~1 KiB
MAX_IDS_PER_MESSAGE: Final = 10
_AES_KEY: Final = re.compile(r"^[A-Za-z0-9+/]{43}$")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}")
# What wechatpy lets escape when the ciphertext, the AES key or the corp id is wrong (bad base64, padding,
# length prefix or UTF-8 are all ValueError / struct.error / IndexError).
_UNDECRYPTABLE: Final = (InvalidCorpIdException, ValueError, struct.error, IndexError)
NOT_CONFIGURED: Final = (
    "WeCom callback is not configured (alerts.wecom.callback_token, alerts.wecom.callback_aes_key and "
    "alerts.wecom.corp_id: export HUB__ALERTS__WECOM__CALLBACK_TOKEN and HUB__ALERTS__WECOM__CALLBACK_AES_KEY)"
)
HELP: Final = "没看懂。回复「已处理 #12」关闭告警，回复「接手 #12」接手处理；可一次写多个编号：「已处理 #12 #13」。"


class RecentAcks:
    """Recently acknowledged messages by MsgId, each with the task doing it.

    A WeCom retry of the same MsgId re-reads (or keeps waiting for) the first outcome instead of acting
    twice. In memory and per process: the acknowledger is idempotent anyway, this keeps replies consistent
    and saves work. Tasks are tracked so shutdown can let them finish.
    """

    def __init__(self, capacity: int = 512, reply_budget_s: float = REPLY_BUDGET_S) -> None:
        self.capacity = capacity
        self.reply_budget_s = reply_budget_s
        self._by_msg_id: OrderedDict[int, asyncio.Task[str]] = OrderedDict()
        self._pending: set[asyncio.Task[str]] = set()

    def run(self, msg_id: int, work: Coroutine[Any, Any, str]) -> asyncio.Task[str]:
        """The task for `msg_id`: the existing one if seen lately (and `work` is discarded), else `work`'s."""
        seen = self._by_msg_id.get(msg_id) if msg_id else None
        if seen is not None:
            work.close()
            return seen
        task = asyncio.create_task(work, name=f"wecom-ack-{msg_id}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        if msg_id:  # WeCom always sends one; 0 means absent, so nothing to dedup on
            self._by_msg_id[msg_id] = task
            while len(self._by_msg_id) > self.capacity:
                self._by_msg_id.popitem(last=False)
        return task

    async def drain(self) -> None:
        """Let acknowledgements still running finish (their member was told "in progress")."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


RECENT_ACKS: Final = web.AppKey("wecom_recent_acks", RecentAcks)


def setup_wecom(app: web.Application, *, reply_budget_s: float = REPLY_BUDGET_S) -> None:
    """Add the routes and their dedup state. Call it after the alerts service's cleanup_ctx is appended, so
    running acknowledgements are drained before the service closes."""

    async def recent_acks_ctx(app: web.Application) -> AsyncIterator[None]:
        recent = RecentAcks(reply_budget_s=reply_budget_s)
        app[RECENT_ACKS] = recent
        yield
        await recent.drain()

    app.cleanup_ctx.append(recent_acks_ctx)
    app.add_routes(routes)


def wecom_crypto(settings: Settings) -> WeChatCrypto | None:
    """The app's callback crypto, or None when the callback is not configured.

    Raises ValueError for a malformed EncodingAESKey: base64 decoding would silently drop stray characters.
    """
    wecom = settings.alerts.wecom
    if wecom.callback_token is None or wecom.callback_aes_key is None or not wecom.corp_id:
        return None
    aes_key = wecom.callback_aes_key.get_secret_value()
    if not _AES_KEY.match(aes_key):
        raise ValueError("alerts.wecom.callback_aes_key must be the app's 43-character EncodingAESKey")
    return WeChatCrypto(wecom.callback_token.get_secret_value(), aes_key, wecom.corp_id)


def _crypto(request: web.Request) -> WeChatCrypto:
    try:
        crypto = wecom_crypto(request.app[SETTINGS])
    except ValueError as exc:
        raise ApiError(500, str(exc), error="misconfigured") from exc
    if crypto is None:
        raise ApiError(404, NOT_CONFIGURED, error="not_configured")
    return crypto


def _query(request: web.Request, *names: str) -> list[str]:
    missing = [name for name in names if not request.query.get(name)]
    if missing:
        raise ApiError(400, f"missing query parameter(s): {', '.join(missing)}", error="missing_parameter")
    return [request.query[name] for name in names]


@routes.get(PATH)
async def verify_url(request: web.Request) -> web.Response:
    """WeCom's check when the URL is saved in the admin console: prove we hold the token and the key."""
    crypto = _crypto(request)
    signature, timestamp, nonce, echostr = _query(request, "msg_signature", "timestamp", "nonce", "echostr")
    _check_fresh(request, timestamp)
    # echostr is base64; an unescaped "+" arrives as a space.
    echostr = echostr.replace(" ", "+")
    try:
        echo = crypto.check_signature(signature, timestamp, nonce, echostr)
    except InvalidSignatureException as exc:
        log.warning("wecom url check: bad signature", timestamp=timestamp)
        raise ApiError(403, "bad msg_signature", error="bad_signature") from exc
    except _UNDECRYPTABLE as exc:
        log.warning("wecom url check: echostr undecryptable (wrong EncodingAESKey or corp id?)", error=repr(exc))
        raise ApiError(403, "echostr cannot be decrypted with this app's key", error="undecryptable") from exc
    log.info("wecom url check passed")
    return web.Response(text=str(echo), content_type="text/plain")


@routes.post(PATH)
async def receive_message(request: web.Request) -> web.Response:
    crypto = _crypto(request)
    signature, timestamp, nonce = _query(request, "msg_signature", "timestamp", "nonce")
    _check_fresh(request, timestamp)
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = await request.read()
    if len(body) > MAX_BODY_BYTES:  # chunked: no Content-Length to check up front
        raise ApiError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    encrypted = _envelope(body)
    try:
        plain_xml = crypto.decrypt_message({"Encrypt": encrypted}, signature, timestamp, nonce)
    except InvalidSignatureException as exc:
        log.warning("wecom callback: bad signature", timestamp=timestamp)
        raise ApiError(403, "bad msg_signature", error="bad_signature") from exc
    except _UNDECRYPTABLE as exc:
        log.warning("wecom callback: undecryptable (wrong EncodingAESKey or corp id?)", error=repr(exc))
        raise ApiError(403, "message cannot be decrypted with this app's key", error="undecryptable") from exc
    message = _parse(plain_xml)
    if not isinstance(message, TextMessage):
        # Events (enter_agent, subscribe, …) and media: nothing to do; "success" stops WeCom retrying.
        log.debug("wecom callback ignored", msg_type=message.type, wecom_userid=message.source)
        return web.Response(text="success", content_type="text/plain")
    text = await _answer(request, message)
    reply = TextReply(content=text, message=message)  # From/To swapped, AgentID copied
    return web.Response(text=crypto.encrypt_message(reply.render(), nonce, timestamp), content_type="text/xml")


def _check_fresh(request: web.Request, timestamp: str) -> None:
    """Refuse a request whose signed timestamp is off our clock by more than the configured window: the
    signature alone would let a captured request be replayed forever."""
    window_s = request.app[SETTINGS].alerts.wecom.callback_max_skew_s
    if not _TIMESTAMP.fullmatch(timestamp):
        problem = f"query parameter timestamp must be Unix seconds (up to 12 digits), got {timestamp[:40]!r}"
        raise ApiError(400, problem, error="bad_parameter")
    skew_s = int(timestamp) - request.app[CLOCK].now().timestamp()
    if abs(skew_s) > window_s:
        log.warning("wecom callback: timestamp outside the window", timestamp=timestamp, skew_s=round(skew_s))
        side = "behind" if skew_s < 0 else "ahead of"
        problem = (
            f"timestamp {timestamp} is {abs(skew_s):.0f} s {side} the server's clock; at most {window_s} s is "
            "accepted (alerts.wecom.callback_max_skew_s): a delayed or replayed request"
        )
        raise ApiError(403, problem, error="stale_timestamp")


def _envelope(body: bytes) -> str:
    """The <Encrypt> text of WeCom's outer XML (parsed before the signature check, which covers it)."""
    try:
        outer = xmltodict.parse(body)
    except (ExpatError, ValueError) as exc:  # ValueError: entity declarations, refused
        raise ApiError(400, f"body is not XML: {exc}", error="malformed_body") from exc
    root = outer.get("xml") if isinstance(outer, dict) else None
    encrypted = root.get("Encrypt") if isinstance(root, dict) else None
    if not isinstance(encrypted, str) or not encrypted:
        raise ApiError(400, "body has no <xml><Encrypt> element", error="malformed_body")
    return encrypted


def _parse(plain_xml: str) -> Any:
    try:
        message = parse_message(plain_xml)
        if message is not None:  # wechatpy converts a field when it is read: read the ones used here now
            _ = (message.id, message.source, message.target, message.agent, message.type)
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise ApiError(400, f"decrypted message is not a WeCom message: {exc!r}", error="malformed_message") from exc
    if message is None:  # wechatpy's answer to an empty plaintext
        raise ApiError(400, "decrypted message is empty", error="malformed_message")
    return message


async def _answer(request: web.Request, message: Any) -> str:
    """What to tell the member; acknowledges the alerts they named."""
    userid, msg_id = str(message.source), int(message.id)
    person = _person(request.app[DIRECTORY], userid)
    if person is None:
        log.warning("wecom message from a member not in rules/people.yaml", wecom_userid=userid, msg_id=msg_id)
        return (
            f"你的企业微信账号（{userid}）不在 rules/people.yaml 的人员名单中，无法处理告警。"
            "请联系管理员添加 wecom_userid。"
        )
    ack = parse_ack(str(message.content or ""))
    if ack is None:
        return HELP
    if len(ack.alert_ids) > MAX_IDS_PER_MESSAGE:
        return f"一次最多处理 {MAX_IDS_PER_MESSAGE} 条告警，请分几条发送。"
    acknowledger = request.app.get(ACKNOWLEDGER)
    if acknowledger is None:
        log.error("wecom ack received but no acknowledger is registered", msg_id=msg_id, alert_ids=ack.alert_ids)
        return "告警服务暂不可用，请稍后重试或在后台处理。"
    recent = request.app[RECENT_ACKS]
    task = recent.run(msg_id, _acknowledge_all(acknowledger, ack, person.name, msg_id))
    done, _ = await asyncio.wait({task}, timeout=recent.reply_budget_s)
    if task in done:
        return task.result()
    ids = " ".join(f"#{alert_id}" for alert_id in ack.alert_ids)
    return f"已收到，正在处理告警 {ids}，结果稍后见告警通知。"


def _person(directory: Directory, userid: str) -> PersonRule | None:
    # WeCom userids are case-insensitive, and the callback may not use the case written in people.yaml.
    wanted = userid.casefold()
    for person in directory.people.values():
        if person.wecom_userid is not None and person.wecom_userid.casefold() == wanted:
            return person
    return None


async def _acknowledge_all(acknowledger: Acknowledger, ack: Ack, actor: str, msg_id: int) -> str:
    outcomes = await asyncio.gather(
        *(_acknowledge_one(acknowledger, alert_id, ack, actor, msg_id) for alert_id in ack.alert_ids)
    )
    return "\n".join(outcome.message for outcome in outcomes)


async def _acknowledge_one(acknowledger: Acknowledger, alert_id: int, ack: Ack, actor: str, msg_id: int) -> AckOutcome:
    try:
        outcome = await acknowledger.acknowledge(alert_id, ack.action, actor, VIA)
    except Exception:  # one failing alert must not lose the others' outcomes; the member is told to retry
        log.exception("wecom ack failed", alert_id=alert_id, action=ack.action, actor=actor, msg_id=msg_id)
        return AckOutcome(alert_id, done=False, message=f"告警 #{alert_id} 处理失败，请稍后重试。")
    log.info("wecom ack", alert_id=alert_id, action=ack.action, actor=actor, msg_id=msg_id, done=outcome.done, via=VIA)
    return outcome
