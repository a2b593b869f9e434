"""`/wecom/callback` with real WeCom crypto: payloads encrypted and signed the way WeCom does it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import ValidationError
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.api.envelope import error_middleware
from bot.clock import FrozenClock
from bot.keys import CLOCK, DIRECTORY, SETTINGS
from bot.rules.people import Directory, PeopleFile, PersonRule
from bot.settings import Settings
from bot.wecom.ack import ACKNOWLEDGER, Ack, AckAction, AckOutcome, parse_ack
from bot.wecom.callback import RECENT_ACKS, setup_wecom, wecom_crypto

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

CORP_ID = "ww0123456789abcdef"
AGENT_ID = 1000002
TOKEN = "wecom-test-token"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters, like EncodingAESKey
OTHER_AES_KEY = base64.b64encode(bytes(range(100, 132))).decode().rstrip("=")
TIMESTAMP = "1700000000"
NOW = datetime.fromtimestamp(int(TIMESTAMP), UTC)  # the server's clock: WeCom's timestamps are fresh
NONCE = "nonce123"
_msg_ids = itertools.count(7318000000000000001)


def wecom_settings(**wecom: Any) -> Settings:
    section = {"corp_id": CORP_ID, "agent_id": AGENT_ID, "callback_token": TOKEN, "callback_aes_key": AES_KEY}
    return Settings.model_validate({"alerts": {"wecom": {**section, **wecom}}})


def directory() -> Directory:
    people = PeopleFile(
        people=(
            PersonRule(name="张经理", aliases=("老张",), role="manager", wecom_userid="zhangjl"),
            PersonRule(name="李客服", role="staff", wecom_userid="LiKeFu"),
            PersonRule(name="王客服", role="staff"),
        )
    )
    return Directory.build(["告警机器人"], people)


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """WeCom's msg_signature: SHA-1 of the four strings sorted and concatenated."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


def text_xml(content: str, userid: str = "zhangjl", msg_id: int | None = None) -> str:
    msg_id = next(_msg_ids) if msg_id is None else msg_id
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>"
    )


def event_xml(event: str = "enter_agent", userid: str = "zhangjl") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[]]></EventKey><AgentID>{AGENT_ID}</AgentID></xml>"
    )


def encrypt(plain_xml: str, *, aes_key: str = AES_KEY, corp_id: str = CORP_ID) -> str:
    """The <Encrypt> text WeCom would send; its signature is checked against our own computation."""
    envelope = WeChatCrypto(TOKEN, aes_key, corp_id).encrypt_message(plain_xml, NONCE, TIMESTAMP)
    encrypted = _cdata(envelope, "Encrypt")
    assert _cdata(envelope, "MsgSignature") == signature(TOKEN, TIMESTAMP, NONCE, encrypted)
    return encrypted


def body(encrypted: str) -> str:
    # The outer XML WeCom POSTs: the signature travels in the query string, not in the body.
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
        f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
    )


def query(encrypted: str, **override: str) -> dict[str, str]:
    return {
        "msg_signature": signature(TOKEN, TIMESTAMP, NONCE, encrypted),
        "timestamp": TIMESTAMP,
        "nonce": NONCE,
        **override,
    }


def _cdata(xml: str, tag: str) -> str:
    match = re.search(rf"<{tag}><!\[CDATA\[(.*?)\]\]></{tag}>", xml, re.DOTALL)
    assert match is not None, xml
    return match[1]


async def send(client: Client, plain_xml: str) -> str:
    """POST an encrypted message; decrypt the passive reply and return its text."""
    encrypted = encrypt(plain_xml)
    resp = await client.post("/wecom/callback", params=query(encrypted), data=body(encrypted))
    assert resp.status == 200, await resp.text()
    return reply_text(await resp.text())


def reply_text(reply_xml: str) -> str:
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    timestamp = re.search(r"<TimeStamp>(\d+)</TimeStamp>", reply_xml)
    assert timestamp is not None
    plain = crypto.decrypt_message(
        reply_xml, _cdata(reply_xml, "MsgSignature"), timestamp[1], _cdata(reply_xml, "Nonce")
    )
    reply = parse_message(plain)
    assert (reply.type, reply.source, reply.target, reply.agent) == ("text", CORP_ID, "zhangjl", AGENT_ID)
    return str(reply.content)


class FakeAcknowledger:
    """Records calls; #404 does not exist, #500 blows up, and `gate` (when set) holds every call."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.calls: list[tuple[int, AckAction, str, str]] = []
        self.gate = gate

    async def acknowledge(self, alert_id: int, action: AckAction, actor: str, via: str) -> AckOutcome:
        self.calls.append((alert_id, action, actor, via))
        if self.gate is not None:
            await self.gate.wait()
        if alert_id == 404:
            return AckOutcome(alert_id, done=False, message=f"告警 #{alert_id} 不存在")
        if alert_id == 500:
            raise RuntimeError("database went away")
        if action == "claim":
            return AckOutcome(alert_id, done=True, message=f"告警 #{alert_id} 已被 {actor} 接手")
        return AckOutcome(alert_id, done=True, message=f"告警 #{alert_id} 已关闭")


@pytest.fixture
def acknowledger() -> FakeAcknowledger:
    return FakeAcknowledger()


@pytest.fixture
def make_client(aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> MakeClient:
    async def make(
        settings: Settings | None = None,
        acknowledger: FakeAcknowledger | None = None,
        reply_budget_s: float = 3.0,
        clock: FrozenClock | None = None,
    ) -> Client:
        app = web.Application(middlewares=[error_middleware])
        app[SETTINGS] = settings or wecom_settings()
        app[CLOCK] = clock or FrozenClock(NOW)
        app[DIRECTORY] = directory()
        if acknowledger is not None:
            app[ACKNOWLEDGER] = acknowledger
        setup_wecom(app, reply_budget_s=reply_budget_s)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client: MakeClient, acknowledger: FakeAcknowledger) -> Client:
    return await make_client(acknowledger=acknowledger)


# --- URL verification (GET) -------------------------------------------------------------------------------


async def test_url_verification_answers_the_decrypted_echostr(client: Client) -> None:
    echostr = encrypt("6439302938129103")
    resp = await client.get("/wecom/callback", params={**query(echostr), "echostr": echostr})
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    assert await resp.text() == "6439302938129103"


async def test_url_verification_with_a_bad_signature_is_forbidden(client: Client) -> None:
    echostr = encrypt("6439302938129103")
    params = {**query(echostr, msg_signature=signature("wrong-token", TIMESTAMP, NONCE, echostr)), "echostr": echostr}
    resp = await client.get("/wecom/callback", params=params)
    assert resp.status == 403
    assert (await resp.json())["error"] == "bad_signature"


async def test_url_verification_names_the_missing_parameters(client: Client) -> None:
    resp = await client.get("/wecom/callback", params={"timestamp": TIMESTAMP})
    assert resp.status == 400
    assert (await resp.json())["message"] == "missing query parameter(s): msg_signature, nonce, echostr"


# --- timestamp freshness ---------------------------------------------------------------------------------


def signed_at(encrypted: str, timestamp: str) -> dict[str, str]:
    """The query of a request correctly signed over `timestamp` (the signature covers it)."""
    return query(encrypted, timestamp=timestamp, msg_signature=signature(TOKEN, timestamp, NONCE, encrypted))


@pytest.mark.parametrize(
    ("timestamp", "status"),
    [
        (TIMESTAMP, 200),
        (str(int(TIMESTAMP) - 300), 200),
        (str(int(TIMESTAMP) + 300), 200),
        (str(int(TIMESTAMP) - 301), 403),
        (str(int(TIMESTAMP) + 301), 403),
        ("978307200", 403),  # 2001-01-01: correctly signed, and was accepted
    ],
)
async def test_a_signed_message_outside_the_window_is_forbidden_and_nothing_happens(
    client: Client, acknowledger: FakeAcknowledger, timestamp: str, status: int
) -> None:
    encrypted = encrypt(text_xml("已处理 #12"))
    resp = await client.post("/wecom/callback", params=signed_at(encrypted, timestamp), data=body(encrypted))
    assert resp.status == status, await resp.text()
    if status == 403:
        answer = await resp.json()
        assert answer["error"] == "stale_timestamp"
        assert "alerts.wecom.callback_max_skew_s" in answer["message"]
        assert f"timestamp {timestamp} is {abs(int(timestamp) - int(TIMESTAMP))} s" in answer["message"]
        assert acknowledger.calls == []
    else:
        assert acknowledger.calls == [(12, "resolve", "张经理", "wecom")]


async def test_the_window_is_configurable_and_the_clock_is_the_apps(
    make_client: MakeClient, acknowledger: FakeAcknowledger
) -> None:
    later = FrozenClock(NOW + timedelta(seconds=61))
    client = await make_client(wecom_settings(callback_max_skew_s=60), acknowledger, clock=later)
    encrypted = encrypt(text_xml("已处理 #12"))
    resp = await client.post("/wecom/callback", params=query(encrypted), data=body(encrypted))
    assert resp.status == 403
    assert "61 s behind the server's clock; at most 60 s" in (await resp.json())["message"]
    later.advance(timedelta(seconds=-1))
    resp = await client.post("/wecom/callback", params=query(encrypted), data=body(encrypted))
    assert resp.status == 200
    assert len(acknowledger.calls) == 1


async def test_url_verification_outside_the_window_is_forbidden(client: Client) -> None:
    echostr = encrypt("6439302938129103")
    resp = await client.get("/wecom/callback", params={**signed_at(echostr, "978307200"), "echostr": echostr})
    assert resp.status == 403
    assert (await resp.json())["error"] == "stale_timestamp"


@pytest.mark.parametrize("timestamp", ["abc", "1.5", "-1700000000", "1" * 13, "١٧٠٠٠٠٠٠٠٠"])
async def test_a_timestamp_that_is_not_unix_seconds_is_a_bad_request(
    client: Client, acknowledger: FakeAcknowledger, timestamp: str
) -> None:
    encrypted = encrypt(text_xml("已处理 #12"))
    resp = await client.post("/wecom/callback", params=signed_at(encrypted, timestamp), data=body(encrypted))
    assert resp.status == 400
    assert "timestamp must be Unix seconds" in (await resp.json())["message"]
    assert acknowledger.calls == []


# --- messages (POST) --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "reply"),
    [
        ("已处理 #12", "resolve", "告警 #12 已关闭"),
        ("接手 #12", "claim", "告警 #12 已被 张经理 接手"),
    ],
)
async def test_an_ack_is_passed_on_with_the_members_name_and_answered(
    client: Client, acknowledger: FakeAcknowledger, text: str, action: AckAction, reply: str
) -> None:
    assert await send(client, text_xml(text)) == reply
    assert acknowledger.calls == [(12, action, "张经理", "wecom")]


async def test_several_ids_are_all_acknowledged_and_reported(client: Client, acknowledger: FakeAcknowledger) -> None:
    assert await send(client, text_xml("已处理 #12 #404")) == "告警 #12 已关闭\n告警 #404 不存在"
    assert [call[0] for call in acknowledger.calls] == [12, 404]


async def test_one_failing_alert_does_not_lose_the_others(client: Client, acknowledger: FakeAcknowledger) -> None:
    assert (
        await send(client, text_xml("接手 #500 #13")) == "告警 #500 处理失败，请稍后重试。\n告警 #13 已被 张经理 接手"
    )


async def test_wecom_userids_match_whatever_their_case(client: Client, acknowledger: FakeAcknowledger) -> None:
    encrypted = encrypt(text_xml("已处理 #7", userid="likefu"))
    resp = await client.post("/wecom/callback", params=query(encrypted), data=body(encrypted))
    assert resp.status == 200
    assert acknowledger.calls == [(7, "resolve", "李客服", "wecom")]


async def test_a_bad_signature_is_forbidden_and_nothing_happens(client: Client, acknowledger: FakeAcknowledger) -> None:
    encrypted = encrypt(text_xml("已处理 #12"))
    bad = signature("wrong-token", TIMESTAMP, NONCE, encrypted)
    resp = await client.post("/wecom/callback", params=query(encrypted, msg_signature=bad), data=body(encrypted))
    assert resp.status == 403
    assert (await resp.json())["error"] == "bad_signature"
    assert acknowledger.calls == []


async def test_tampered_ciphertext_fails_the_signature(client: Client, acknowledger: FakeAcknowledger) -> None:
    encrypted = encrypt(text_xml("已处理 #12"))
    tampered = ("B" if encrypted[0] != "B" else "C") + encrypted[1:]
    resp = await client.post("/wecom/callback", params=query(encrypted), data=body(tampered))
    assert resp.status == 403
    assert acknowledger.calls == []


@pytest.mark.parametrize(
    "encrypted",
    [
        pytest.param(encrypt(text_xml("已处理 #12"), aes_key=OTHER_AES_KEY), id="another-app-key"),
        pytest.param(encrypt(text_xml("已处理 #12"), corp_id="wwsomeoneelse"), id="another-corp"),
        pytest.param(base64.b64encode(b"not a ciphertext at all").decode(), id="garbage"),
    ],
)
async def test_correctly_signed_but_undecryptable_is_forbidden(
    client: Client, acknowledger: FakeAcknowledger, encrypted: str
) -> None:
    # Signed with our token, so only decryption can catch it: someone holding the token but not the key.
    resp = await client.post("/wecom/callback", params=query(encrypted), data=body(encrypted))
    assert resp.status == 403
    assert (await resp.json())["error"] == "undecryptable"
    assert acknowledger.calls == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("<xml><Encrypt>abc", "body is not XML"),
        ("", "body is not XML"),
        ("<xml><ToUserName>x</ToUserName></xml>", "body has no <xml><Encrypt> element"),
        ('<!DOCTYPE x [<!ENTITY e "boom">]><xml><Encrypt>&e;</Encrypt></xml>', "entities are disabled"),
    ],
)
async def test_malformed_xml_is_a_bad_request(client: Client, payload: str, message: str) -> None:
    resp = await client.post("/wecom/callback", params=query("abc"), data=payload)
    assert resp.status == 400
    assert message in (await resp.json())["message"]


@pytest.mark.parametrize(
    "plain",
    [
        "<xml><FromUserName>zhangjl</FromUserName></xml>",  # no MsgType
        text_xml("已处理 #12").replace("<MsgId>", "<MsgId>x"),  # wechatpy converts MsgId to int when read
        text_xml("已处理 #12").replace(f"<AgentID>{AGENT_ID}", "<AgentID>agent"),
    ],
)
async def test_a_signed_but_malformed_inner_message_is_a_bad_request(
    client: Client, acknowledger: FakeAcknowledger, plain: str
) -> None:
    encrypted = encrypt(plain)
    resp = await client.post("/wecom/callback", params=query(encrypted), data=body(encrypted))
    assert resp.status == 400
    assert (await resp.json())["error"] == "malformed_message"
    assert acknowledger.calls == []


async def test_post_names_the_missing_parameters(client: Client) -> None:
    resp = await client.post("/wecom/callback", params={"nonce": NONCE}, data=body("abc"))
    assert resp.status == 400
    assert (await resp.json())["message"] == "missing query parameter(s): msg_signature, timestamp"


async def test_an_unknown_member_is_told_and_nothing_happens(client: Client, acknowledger: FakeAcknowledger) -> None:
    encrypted = encrypt(text_xml("已处理 #12", userid="stranger"))
    resp = await client.post("/wecom/callback", params=query(encrypted), data=body(encrypted))
    assert resp.status == 200
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    xml = await resp.text()
    plain = crypto.decrypt_message(xml, _cdata(xml, "MsgSignature"), TIMESTAMP, NONCE)
    assert "stranger" in plain
    assert "rules/people.yaml" in plain
    assert acknowledger.calls == []


async def test_text_that_is_not_an_ack_gets_the_syntax(client: Client, acknowledger: FakeAcknowledger) -> None:
    assert "已处理 #12" in await send(client, text_xml("处理一下 12吧"))
    assert acknowledger.calls == []


async def test_too_many_ids_are_refused(client: Client, acknowledger: FakeAcknowledger) -> None:
    ids = " ".join(f"#{n}" for n in range(1, 12))
    assert await send(client, text_xml(f"已处理 {ids}")) == "一次最多处理 10 条告警，请分几条发送。"
    assert acknowledger.calls == []


@pytest.mark.parametrize("plain_xml", [event_xml("enter_agent"), event_xml("click"), event_xml("subscribe")])
async def test_events_are_answered_success_and_ignored(
    client: Client, acknowledger: FakeAcknowledger, plain_xml: str
) -> None:
    encrypted = encrypt(plain_xml)
    resp = await client.post("/wecom/callback", params=query(encrypted), data=body(encrypted))
    assert resp.status == 200
    assert await resp.text() == "success"
    assert acknowledger.calls == []


@pytest.mark.parametrize(
    "wecom",
    [{"callback_token": None}, {"callback_aes_key": None}, {"corp_id": None}],
    ids=["no-token", "no-aes-key", "no-corp-id"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_not_configured_is_not_found(
    make_client: MakeClient, acknowledger: FakeAcknowledger, wecom: dict[str, Any], method: str
) -> None:
    client = await make_client(settings=wecom_settings(**wecom), acknowledger=acknowledger)
    encrypted = encrypt(text_xml("已处理 #12"))
    resp = await client.request(method, "/wecom/callback", params=query(encrypted), data=body(encrypted))
    assert resp.status == 404
    assert (await resp.json())["message"].startswith("WeCom callback is not configured (alerts.wecom.callback_token")
    assert acknowledger.calls == []


def test_a_malformed_aes_key_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="43-character EncodingAESKey"):
        wecom_settings(callback_aes_key="too-short")
    with pytest.raises(ValidationError, match="43-character EncodingAESKey"):
        wecom_settings(callback_aes_key="!" * 43)
    assert wecom_crypto(wecom_settings()) is not None


async def test_a_retried_msg_id_acts_once_and_answers_the_same(client: Client, acknowledger: FakeAcknowledger) -> None:
    plain_xml = text_xml("已处理 #12")
    first = await send(client, plain_xml)
    second = await send(client, plain_xml)
    assert first == second == "告警 #12 已关闭"
    assert len(acknowledger.calls) == 1
    await send(client, text_xml("已处理 #12"))  # a new message (new MsgId) acts again: the service is idempotent
    assert len(acknowledger.calls) == 2


async def test_a_slow_ack_is_answered_in_time_and_finished_once(make_client: MakeClient) -> None:
    gate = asyncio.Event()
    acknowledger = FakeAcknowledger(gate=gate)
    client = await make_client(acknowledger=acknowledger, reply_budget_s=0.01)
    plain_xml = text_xml("接手 #12")
    assert await send(client, plain_xml) == "已收到，正在处理告警 #12，结果稍后见告警通知。"
    assert await send(client, plain_xml) == "已收到，正在处理告警 #12，结果稍后见告警通知。"  # WeCom's retry
    gate.set()
    await client.app[RECENT_ACKS].drain()
    assert acknowledger.calls == [(12, "claim", "张经理", "wecom")]
    assert await send(client, plain_xml) == "告警 #12 已被 张经理 接手"


async def test_without_an_acknowledger_the_member_is_told(make_client: MakeClient) -> None:
    client = await make_client(acknowledger=None)
    assert await send(client, text_xml("已处理 #12")) == "告警服务暂不可用，请稍后重试或在后台处理。"


# --- the reply syntax -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("已处理 #12", Ack("resolve", (12,))),
        ("已处理#12", Ack("resolve", (12,))),
        ("已处理 12", Ack("resolve", (12,))),
        ("已处理 ＃12", Ack("resolve", (12,))),
        ("已处理 ＃１２", Ack("resolve", (12,))),
        ("  \n已处理 #12 \n", Ack("resolve", (12,))),
        ("#12 已处理", Ack("resolve", (12,))),
        ("#12已解决", Ack("resolve", (12,))),
        ("处理好了 #7。", Ack("resolve", (7,))),
        ("已解决：12、13", Ack("resolve", (12, 13))),
        ("已处理 #12 #13", Ack("resolve", (12, 13))),
        ("已处理#12#13", Ack("resolve", (12, 13))),
        ("已处理 #12, #13，#14", Ack("resolve", (12, 13, 14))),
        ("已处理 #12 #12", Ack("resolve", (12,))),
        ("接手 #12", Ack("claim", (12,))),
        ("接手#12", Ack("claim", (12,))),
        ("我来处理 #5", Ack("claim", (5,))),
        ("我来跟进 #5 #6", Ack("claim", (5, 6))),
        ("#9 接手", Ack("claim", (9,))),
        ("#12", None),
        ("12", None),
        ("已处理", None),
        ("接手", None),
        ("处理一下 12吧", None),
        ("已处理 #12 谢谢", None),
        ("请尽快处理 #12", None),
        ("已处理 #abc", None),
        ("已处理 1234567890123", None),
        ("", None),
    ],
)
def test_parse_ack(text: str, expected: Ack | None) -> None:
    assert parse_ack(text) == expected
