"""The channels over real HTTP against the fake providers (which verify signatures, tokens and
parameters), the WeCom token shared through a real Redis, and the retryable/not-retryable split."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from yarl import URL

from bot.alerts.channels import AlertDigest, ChannelError, NotConfigured, Recipient, Sent, build_channels
from bot.alerts.channels.signing import acs3_sign, canonical_query, tc3_sign
from bot.alerts.channels.wecom import CACHE_KEY, TOKEN_MARGIN_S, WeComApp
from bot.embedded_redis import free_port
from bot.settings import AlertSettings
from tests.fakes.providers import FakeProviders, Provider, run_fake_providers
from tests.fakes.state import (
    AGENT_ID,
    ALIYUN_ACCESS_KEY_ID,
    ALIYUN_ACCESS_KEY_SECRET,
    ALIYUN_SIGN_NAME,
    ALIYUN_SMS_TEMPLATE,
    CORP_ID,
    TENCENT_SECRET_ID,
    TENCENT_SECRET_KEY,
    TENCENT_SIGN_NAME,
    TENCENT_SMS_APP_ID,
    TENCENT_SMS_TEMPLATE,
    FakeState,
)

DIGEST = AlertDigest(
    alert_ids=(42,),
    level=3,
    level_name="紧急告警",
    title="投诉未处理 · 客户群1",
    text="客户群1 有投诉 10 分钟未处理",
    markdown="**紧急告警** 投诉未处理 · 客户群1\n> 10 分钟未处理",
)
PERSON = Recipient(name="张三", wecom_userid="zhangsan", phone="13800138000", mentions=("13800138000",))
# (phone/sms provider, channel name) → the fake's call channel and the Sent.provider
PROVIDER_CHANNELS = [
    ("aliyun", "sms", "aliyun_sms"),
    ("aliyun", "phone", "aliyun_voice"),
    ("tencent", "sms", "tencent_sms"),
    ("tencent", "phone", "tencent_voice"),
]


@pytest.fixture
async def fakes() -> AsyncIterator[FakeProviders]:
    async with run_fake_providers() as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def state_of(fakes: FakeProviders, channel: str) -> FakeState:
    return {"wecom": fakes.wecom, "aliyun": fakes.aliyun, "tencent": fakes.tencent}[channel.partition("_")[0]]


def with_section(settings: AlertSettings, section: str, **changes: Any) -> AlertSettings:
    part = getattr(settings, section).model_copy(update=changes)
    return settings.model_copy(update={section: part})


async def test_wecom_app_sends_markdown_to_the_member(fakes: FakeProviders, session: aiohttp.ClientSession) -> None:
    channel = build_channels(fakes.alert_settings(), session, None)["wecom_app"]
    sent = await channel.send(PERSON, DIGEST)
    [call] = fakes.wecom.calls
    assert sent == Sent("wecom", call.provider_id)
    assert call.provider_id
    assert call.recipient == "zhangsan"
    assert call.params == {
        "touser": "zhangsan",
        "msgtype": "markdown",
        "agentid": AGENT_ID,
        "markdown": {"content": DIGEST.markdown},
    }


async def test_wecom_webhook_sends_markdown_then_mentions_by_mobile(
    fakes: FakeProviders, session: aiohttp.ClientSession
) -> None:
    channel = build_channels(fakes.alert_settings(), session, None)["wecom_webhook"]
    assert await channel.send(PERSON, DIGEST) == Sent("webhook", None)
    markdown, mention = [call.params for call in fakes.wecom.calls]
    assert markdown == {"msgtype": "markdown", "markdown": {"content": DIGEST.markdown}}
    assert mention == {
        "msgtype": "text",
        "text": {"content": "请及时处理告警 #42", "mentioned_mobile_list": ["13800138000"]},
    }


async def test_wecom_webhook_without_mentions_sends_one_message(
    fakes: FakeProviders, session: aiohttp.ClientSession
) -> None:
    channel = build_channels(fakes.alert_settings(), session, None)["wecom_webhook"]
    await channel.send(Recipient(name="webhook"), DIGEST)
    assert [call.params["msgtype"] for call in fakes.wecom.calls] == ["markdown"]


async def test_a_failed_mention_does_not_fail_the_delivered_alert(
    fakes: FakeProviders, session: aiohttp.ClientSession
) -> None:
    fakes.wecom.fail_next(status=500, skip=1)  # the markdown goes through, the mention does not
    channel = build_channels(fakes.alert_settings(), session, None)["wecom_webhook"]
    assert await channel.send(PERSON, DIGEST) == Sent("webhook", None)
    assert [call.params["msgtype"] for call in fakes.wecom.calls] == ["markdown"]


@pytest.mark.parametrize(("provider", "name", "fake_channel"), PROVIDER_CHANNELS)
async def test_provider_channels_send_once_and_return_the_provider_id(
    fakes: FakeProviders, session: aiohttp.ClientSession, provider: Provider, name: str, fake_channel: str
) -> None:
    settings = fakes.alert_settings(phone_provider=provider, sms_provider=provider)
    sent = await build_channels(settings, session, None)[name].send(PERSON, DIGEST)
    [call] = state_of(fakes, fake_channel).calls
    assert call.channel == fake_channel
    assert sent == Sent(provider, call.provider_id)
    assert call.provider_id
    assert call.recipient == ("13800138000" if provider == "aliyun" else "+8613800138000")


async def test_aliyun_sms_parameters(fakes: FakeProviders, session: aiohttp.ClientSession) -> None:
    await build_channels(fakes.alert_settings(), session, None)["sms"].send(PERSON, DIGEST)
    [call] = fakes.aliyun.calls
    assert call.params["PhoneNumbers"] == "13800138000"
    assert json.loads(call.params["TemplateParam"]) == {
        "title": "投诉未处理 · 客户群1",
        "level": "紧急告警",
        "alert_id": "42",
    }


async def test_aliyun_voice_sends_the_show_number_only_when_configured(
    fakes: FakeProviders, session: aiohttp.ClientSession
) -> None:
    plain = fakes.alert_settings()
    shown = with_section(plain, "aliyun", called_show_number="057188888888")
    await build_channels(plain, session, None)["phone"].send(PERSON, DIGEST)
    await build_channels(shown, session, None)["phone"].send(Recipient("李四", phone="+8613900139000"), DIGEST)
    first, second = fakes.aliyun.calls
    assert "CalledShowNumber" not in first.params
    assert second.params["CalledShowNumber"] == "057188888888"
    assert second.params["CalledNumber"] == "13900139000"  # +86 stripped for Alibaba Cloud


async def test_tencent_template_parameters_fit_the_six_character_limit(
    fakes: FakeProviders, session: aiohttp.ClientSession
) -> None:
    settings = fakes.alert_settings(phone_provider="tencent", sms_provider="tencent")
    digest = AlertDigest((42, 43, 44), 4, "紧急告警", "3 条告警 · 客户群1", "…", "…")
    await build_channels(settings, session, None)["sms"].send(PERSON, digest)
    [call] = fakes.tencent.calls
    assert call.params["PhoneNumberSet"] == ["+8613800138000"]
    assert call.params["TemplateParamSet"] == ["3 条告警…", "紧急告警", "42等3条"]


@pytest.mark.parametrize(
    ("provider", "name", "section", "key", "code"),
    [
        ("aliyun", "sms", "aliyun", "access_key_secret", "SignatureDoesNotMatch"),
        ("aliyun", "phone", "aliyun", "access_key_secret", "SignatureDoesNotMatch"),
        ("tencent", "sms", "tencent", "secret_key", "AuthFailure.SignatureFailure"),
        ("tencent", "phone", "tencent", "secret_key", "AuthFailure.SignatureFailure"),
        ("aliyun", "wecom_app", "wecom", "secret", "40001"),
        ("aliyun", "wecom_webhook", "webhook", "key", "93000"),
    ],
)
async def test_a_wrong_secret_is_refused_by_the_fake(
    fakes: FakeProviders,
    session: aiohttp.ClientSession,
    provider: Provider,
    name: str,
    section: str,
    key: str,
    code: str,
) -> None:
    settings = fakes.alert_settings(phone_provider=provider, sms_provider=provider)
    settings = with_section(settings, section, **{key: SecretStr("not-the-secret-0123456789")})
    with pytest.raises(ChannelError) as caught:
        await build_channels(settings, session, None)[name].send(PERSON, DIGEST)
    assert (caught.value.code, caught.value.retryable) == (code, False)
    assert fakes.wecom.calls == fakes.aliyun.calls == fakes.tencent.calls == []


async def test_the_wecom_token_is_shared_through_redis(
    fakes: FakeProviders, session: aiohttp.ClientSession, redis: Redis
) -> None:
    settings = fakes.alert_settings()
    first = WeComApp(settings.wecom, session, redis, timeout_s=5)
    second = WeComApp(settings.wecom, session, redis, timeout_s=5)  # e.g. in another process
    await first.send(PERSON, DIGEST)
    await second.send(PERSON, DIGEST)
    assert fakes.wecom.gettoken_calls == 1
    assert len(fakes.wecom.calls) == 2
    key = CACHE_KEY.format(corp_id=CORP_ID, agent_id=AGENT_ID)
    assert await redis.get(key) == (fakes.wecom.token or "").encode()
    assert 7200 - TOKEN_MARGIN_S - 5 <= await redis.ttl(key) <= 7200 - TOKEN_MARGIN_S


async def test_an_expired_token_is_refreshed_and_the_message_sent_once(
    fakes: FakeProviders, session: aiohttp.ClientSession, redis: Redis
) -> None:
    channel = build_channels(fakes.alert_settings(), session, redis)["wecom_app"]
    await channel.send(PERSON, DIGEST)
    fakes.wecom.expire_token()  # the cached token now answers 42001
    await channel.send(PERSON, DIGEST)
    assert fakes.wecom.gettoken_calls == 2
    assert len(fakes.wecom.calls) == 2  # one accepted message per send
    assert fakes.wecom.requests == 2 + 3  # 2 gettoken + 3 message/send (one refused for its token)


async def test_without_redis_the_token_is_kept_in_process(fakes: FakeProviders, session: aiohttp.ClientSession) -> None:
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)  # nothing listens there
    channel = build_channels(fakes.alert_settings(), session, dead)["wecom_app"]
    await channel.send(PERSON, DIGEST)
    await channel.send(PERSON, DIGEST)
    await dead.aclose()
    assert fakes.wecom.gettoken_calls == 1
    assert len(fakes.wecom.calls) == 2


ALL_CHANNELS = [
    ("aliyun", "wecom_app", "wecom"),
    ("aliyun", "wecom_webhook", "wecom"),
    ("aliyun", "sms", "aliyun"),
    ("aliyun", "phone", "aliyun"),
    ("tencent", "sms", "tencent"),
    ("tencent", "phone", "tencent"),
]


@pytest.mark.parametrize(("provider", "name", "fake"), ALL_CHANNELS)
@pytest.mark.parametrize("status", [500, 503, 429])
async def test_overload_answers_are_retryable(
    fakes: FakeProviders, session: aiohttp.ClientSession, provider: Provider, name: str, fake: str, status: int
) -> None:
    settings = fakes.alert_settings(phone_provider=provider, sms_provider=provider)
    state_of(fakes, fake).fail_next(status=status)
    with pytest.raises(ChannelError) as caught:
        await build_channels(settings, session, None)[name].send(PERSON, DIGEST)
    assert (caught.value.retryable, caught.value.code) == (True, f"http_{status}")
    assert state_of(fakes, fake).calls == []


@pytest.mark.parametrize(("provider", "name", "fake"), ALL_CHANNELS)
async def test_connection_refused_is_retryable(
    fakes: FakeProviders, session: aiohttp.ClientSession, provider: Provider, name: str, fake: str
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = fakes.alert_settings(phone_provider=provider, sms_provider=provider)
    section = {"wecom_app": "wecom", "wecom_webhook": "webhook"}.get(name, provider)
    endpoint = {"wecom": "api_base", "webhook": "api_base"}.get(
        section, f"{'voice' if name == 'phone' else 'sms'}_endpoint"
    )
    settings = with_section(settings, section, **{endpoint: nowhere})
    with pytest.raises(ChannelError) as caught:
        await build_channels(settings, session, None)[name].send(PERSON, DIGEST)
    assert (caught.value.retryable, caught.value.code) == (True, "connect")


@pytest.mark.parametrize(("provider", "name", "fake"), ALL_CHANNELS)
async def test_a_timeout_is_not_retryable_because_the_provider_may_have_acted(
    fakes: FakeProviders, session: aiohttp.ClientSession, provider: Provider, name: str, fake: str
) -> None:
    settings = fakes.alert_settings(phone_provider=provider, sms_provider=provider)
    settings = settings.model_copy(update={"request_timeout_s": 0.3})
    if name == "wecom_app":  # fetch the token first: a slow gettoken is a different (retryable) case
        await build_channels(settings, session, None)[name].send(PERSON, DIGEST)
        fakes.wecom.calls.clear()
    state_of(fakes, fake).fail_next(hang_s=5)
    with pytest.raises(ChannelError) as caught:
        await build_channels(settings, session, None)[name].send(PERSON, DIGEST)
    assert (caught.value.retryable, caught.value.code) == (False, "timeout")
    assert len(state_of(fakes, fake).calls) == 1  # the provider did act: re-sending would duplicate


@pytest.mark.parametrize(
    ("provider", "name", "fake", "code", "status", "retryable"),
    [
        ("aliyun", "wecom_app", "wecom", "-1", 200, True),  # system busy
        ("aliyun", "wecom_app", "wecom", "45009", 200, True),  # frequency limit
        ("aliyun", "wecom_app", "wecom", "60020", 200, False),  # IP not allowed
        ("aliyun", "wecom_webhook", "wecom", "45009", 200, True),
        ("aliyun", "wecom_webhook", "wecom", "93000", 200, False),
        ("aliyun", "sms", "aliyun", "Throttling.User", 400, True),
        ("aliyun", "phone", "aliyun", "Throttling.Api", 400, True),
        ("aliyun", "sms", "aliyun", "isv.BUSINESS_LIMIT_CONTROL", 200, False),
        ("aliyun", "phone", "aliyun", "isv.OUT_OF_SERVICE", 200, False),
        ("tencent", "sms", "tencent", "LimitExceeded.PhoneNumberDailyLimit", 200, True),
        ("tencent", "sms", "tencent", "RequestLimitExceeded", 200, True),
        ("tencent", "phone", "tencent", "InternalError.Timeout", 200, True),
        ("tencent", "sms", "tencent", "FailedOperation.InsufficientBalanceInSmsPackage", 200, False),
        ("tencent", "phone", "tencent", "UnauthorizedOperation.RequestPermissionDeny", 200, False),
    ],
)
async def test_provider_error_codes_are_classified(
    fakes: FakeProviders,
    session: aiohttp.ClientSession,
    provider: Provider,
    name: str,
    fake: str,
    code: str,
    status: int,
    retryable: bool,
) -> None:
    settings = fakes.alert_settings(phone_provider=provider, sms_provider=provider)
    state_of(fakes, fake).fail_next(code=code, status=status)
    with pytest.raises(ChannelError) as caught:
        await build_channels(settings, session, None)[name].send(PERSON, DIGEST)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert code in str(caught.value)
    assert state_of(fakes, fake).calls == []


@pytest.mark.parametrize(
    ("code", "retryable"),
    [("LimitExceeded.PhoneNumberOneHourLimit", True), ("InvalidParameterValue.IncorrectPhoneNumber", False)],
)
async def test_a_tencent_sms_refused_per_number_is_a_failure(
    fakes: FakeProviders, session: aiohttp.ClientSession, code: str, retryable: bool
) -> None:
    fakes.tencent.refuse_next_sms(code)
    settings = fakes.alert_settings(sms_provider="tencent")
    with pytest.raises(ChannelError) as caught:
        await build_channels(settings, session, None)["sms"].send(PERSON, DIGEST)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)


NOT_CONFIGURED = [
    ("aliyun", "wecom_app", "alerts.wecom.corp_id, alerts.wecom.agent_id, alerts.wecom.secret are not set"),
    ("aliyun", "wecom_webhook", "alerts.webhook.key is not set"),
    (
        "aliyun",
        "sms",
        (
            "alerts.aliyun.access_key_id, alerts.aliyun.access_key_secret, alerts.aliyun.sms_sign_name, "
            "alerts.aliyun.sms_template_code are not set"
        ),
    ),
    (
        "aliyun",
        "phone",
        "alerts.aliyun.access_key_id, alerts.aliyun.access_key_secret, alerts.aliyun.tts_code are not set",
    ),
    (
        "tencent",
        "sms",
        (
            "alerts.tencent.secret_id, alerts.tencent.secret_key, alerts.tencent.sms_sdk_app_id, "
            "alerts.tencent.sms_sign_name, alerts.tencent.sms_template_id are not set"
        ),
    ),
    (
        "tencent",
        "phone",
        (
            "alerts.tencent.secret_id, alerts.tencent.secret_key, alerts.tencent.voice_sdk_app_id, "
            "alerts.tencent.voice_template_id are not set"
        ),
    ),
]


@pytest.mark.parametrize(("provider", "name", "message"), NOT_CONFIGURED)
async def test_missing_credentials_raise_not_configured(
    session: aiohttp.ClientSession, provider: Provider, name: str, message: str
) -> None:
    settings = AlertSettings(phone_provider=provider, sms_provider=provider)
    with pytest.raises(NotConfigured) as caught:
        await build_channels(settings, session, None)[name].send(PERSON, DIGEST)
    assert str(caught.value) == message
    assert not caught.value.retryable


@pytest.mark.parametrize(("provider", "name", "fake"), ALL_CHANNELS[:1] + ALL_CHANNELS[2:])
async def test_a_recipient_without_an_address_raises_not_configured(
    fakes: FakeProviders, session: aiohttp.ClientSession, provider: Provider, name: str, fake: str
) -> None:
    settings = fakes.alert_settings(phone_provider=provider, sms_provider=provider)
    with pytest.raises(NotConfigured, match="recipient 王五 has no"):
        await build_channels(settings, session, None)[name].send(Recipient(name="王五"), DIGEST)
    assert state_of(fakes, fake).requests == 0


async def test_a_provider_turned_off_raises_not_configured(session: aiohttp.ClientSession) -> None:
    channels = build_channels(AlertSettings(phone_provider=None, sms_provider=None), session, None)
    assert sorted(channels) == ["phone", "sms", "wecom_app", "wecom_webhook"]
    with pytest.raises(NotConfigured, match=r"^alerts\.phone_provider is not set$"):
        await channels["phone"].send(PERSON, DIGEST)
    with pytest.raises(NotConfigured, match=r"^alerts\.sms_provider is not set$"):
        await channels["sms"].send(PERSON, DIGEST)


# The fakes' checks bite: a request changed after signing, a replayed nonce, a stale timestamp.


async def post_to_aliyun(
    fakes: FakeProviders, session: aiohttp.ClientSession, query: dict[str, str], headers: dict[str, str]
) -> tuple[int, str]:
    url = URL(f"{fakes.aliyun_url}/?{canonical_query(query)}", encoded=True)
    async with session.post(url, headers=headers) as resp:
        return resp.status, (await resp.json())["Code"]


async def test_the_aliyun_fake_rejects_a_tampered_or_replayed_request(
    fakes: FakeProviders, session: aiohttp.ClientSession
) -> None:
    params = {
        "PhoneNumbers": "13800138000",
        "SignName": ALIYUN_SIGN_NAME,
        "TemplateCode": ALIYUN_SMS_TEMPLATE,
        "TemplateParam": json.dumps({"title": "t", "level": "l", "alert_id": "1"}),
    }

    def sign(nonce: str, now: datetime | None = None) -> dict[str, str]:
        return acs3_sign(
            method="POST",
            host=URL(fakes.aliyun_url).host_port_subcomponent or "",
            action="SendSms",
            version="2017-05-25",
            query=params,
            body=b"",
            access_key_id=ALIYUN_ACCESS_KEY_ID,
            access_key_secret=ALIYUN_ACCESS_KEY_SECRET,
            now=now or datetime.now(UTC),
            nonce=nonce,
        ).headers

    tampered = {**params, "PhoneNumbers": "13900139000"}
    assert await post_to_aliyun(fakes, session, tampered, sign("n1")) == (400, "SignatureDoesNotMatch")
    stale = datetime.now(UTC) - timedelta(minutes=20)
    assert await post_to_aliyun(fakes, session, params, sign("n2", stale)) == (400, "InvalidTimeStamp.Expired")
    assert await post_to_aliyun(fakes, session, params, sign("n3")) == (200, "OK")
    assert await post_to_aliyun(fakes, session, params, sign("n3")) == (400, "SignatureNonceUsed")
    assert [call.recipient for call in fakes.aliyun.calls] == ["13800138000"]


async def test_the_tencent_fake_rejects_a_tampered_request(
    fakes: FakeProviders, session: aiohttp.ClientSession
) -> None:
    body = {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": TENCENT_SMS_APP_ID,
        "SignName": TENCENT_SIGN_NAME,
        "TemplateId": TENCENT_SMS_TEMPLATE,
        "TemplateParamSet": ["t", "l", "1"],
    }
    payload = json.dumps(body).encode()

    def sign(now: datetime) -> dict[str, str]:
        return tc3_sign(
            host=URL(fakes.tencent_url).host_port_subcomponent or "",
            service="sms",
            action="SendSms",
            version="2021-01-11",
            region="ap-guangzhou",
            payload=payload,
            secret_id=TENCENT_SECRET_ID,
            secret_key=TENCENT_SECRET_KEY,
            now=now,
        ).headers

    async def post(data: bytes, headers: dict[str, str]) -> dict[str, Any]:
        async with session.post(fakes.tencent_url + "/", data=data, headers=headers) as resp:
            assert resp.status == 200  # Tencent reports errors inside the body
            response: dict[str, Any] = (await resp.json())["Response"]
            return response

    tampered = payload.replace(b"+8613800138000", b"+8613900139000")
    assert (await post(tampered, sign(datetime.now(UTC))))["Error"]["Code"] == "AuthFailure.SignatureFailure"
    stale = datetime.now(UTC) - timedelta(minutes=10)
    assert (await post(payload, sign(stale)))["Error"]["Code"] == "AuthFailure.SignatureExpire"
    assert (await post(payload, sign(datetime.now(UTC))))["SendStatusSet"][0]["Code"] == "Ok"
    assert [call.recipient for call in fakes.tencent.calls] == ["+8613800138000"]


async def test_the_wecom_fake_rejects_an_unknown_token(fakes: FakeProviders, session: aiohttp.ClientSession) -> None:
    url = f"{fakes.wecom_url}/cgi-bin/message/send"
    message = {"touser": "zhangsan", "msgtype": "markdown", "agentid": AGENT_ID, "markdown": {"content": "x"}}
    async with session.post(url, params={"access_token": "made-up"}, json=message) as resp:
        assert (await resp.json())["errcode"] == 40014
    assert fakes.wecom.calls == []
