"""The account service on both databases: add, reset, disable/enable, change a password, and logins
throttled per name and per IP (Redis, injected clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
from redis.asyncio import Redis

from bot.accounts import service
from bot.accounts.service import AccountError, LoginRefused
from bot.clock import FrozenClock
from bot.db import open_db
from bot.settings import ApiRole, ConsoleSettings
from models.accounts import Account

FAST = ConsoleSettings(password_hashing="insecure_fast_for_tests")
PEOPLE = ("售后小王", "张经理")


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[None]:
    async with open_db(db_url):
        yield


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))


async def login(redis: Redis, clock: FrozenClock, name: str, password: str, ip: str = "10.0.0.1") -> Account:
    return await service.authenticate(name, password, ip, redis=redis, clock=clock, console=FAST)


async def refusal(redis: Redis, clock: FrozenClock, name: str, password: str, ip: str = "10.0.0.1") -> LoginRefused:
    with pytest.raises(LoginRefused) as refused:
        await login(redis, clock, name, password, ip)
    return refused.value


async def test_add_reset_disable_enable_and_change_password(db: None, redis: Redis, clock: FrozenClock) -> None:
    account, one_time = await service.add(" 小王 ", "staff", "售后小王", people=PEOPLE, console=FAST, clock=clock)
    assert (account.name, account.role, account.person, account.must_change_password) == (
        "小王",
        "staff",
        "售后小王",
        True,
    )
    assert one_time not in account.password_hash
    stored = await Account.get(name="小王")
    assert (stored.created_at, stored.password_set_at, stored.disabled) == (clock.now(), clock.now(), False)

    with pytest.raises(AccountError, match="exists already") as dup:
        await service.add("小王", "admin", console=FAST)
    assert dup.value.kind == "exists"
    with pytest.raises(AccountError, match="unknown role 'root'; use one of staff, manager, admin"):
        await service.add("老板", "root", console=FAST)
    with pytest.raises(AccountError, match="unknown person '王五'"):
        await service.add("老板", "admin", "王五", people=PEOPLE, console=FAST)
    with pytest.raises(AccountError, match="control"):
        await service.add("a\u200bb", "admin", console=FAST)
    assert await Account.all().count() == 1

    logged_in = await login(redis, clock, "小王", one_time)
    assert logged_in.last_login_at == clock.now()
    assert logged_in.must_change_password

    with pytest.raises(AccountError, match="至少需要 10 个字符"):
        await service.change_password("小王", one_time, "short", console=FAST)
    with pytest.raises(AccountError, match="当前密码不正确"):
        await service.change_password("小王", "wrong-password", "a-long-new-password", console=FAST)
    clock.advance(timedelta(minutes=1))
    changed = await service.change_password("小王", one_time, "a-long-new-password", console=FAST, clock=clock)
    assert (changed.must_change_password, changed.password_set_at) == (False, clock.now())
    assert (await refusal(redis, clock, "小王", one_time)).message_zh == "用户名或密码错误"
    assert (await refusal(redis, clock, "小王", "x" * 1025)).message_zh == "用户名或密码错误"  # not even hashed
    await login(redis, clock, "小王", "a-long-new-password")

    clock.advance(timedelta(minutes=1))
    second = await service.reset("小王", console=FAST, clock=clock)
    assert second != one_time
    reset = await Account.get(name="小王")
    assert (reset.must_change_password, reset.password_set_at) == (True, clock.now())
    await refusal(redis, clock, "小王", "a-long-new-password")
    await login(redis, clock, "小王", second)

    disabled = await service.disable("小王", clock=clock)
    assert (disabled.disabled, disabled.sessions_revoked_at) == (True, clock.now())
    assert (await refusal(redis, clock, "小王", second)).message_zh == "用户名或密码错误"  # as a wrong password
    await service.enable("小王")
    await login(redis, clock, "小王", second)

    with pytest.raises(AccountError, match="no account named '谁'") as missing:
        await service.reset("谁", console=FAST)
    assert missing.value.kind == "not_found"
    assert [a.name for a in await service.list_accounts()] == ["小王"]


async def test_person_is_checked_against_the_synced_people_without_a_list(db: None) -> None:
    with pytest.raises(AccountError, match="unknown person '售后小王'"):  # the table is empty here
        await service.add("小王", "staff", "售后小王", console=FAST)


async def test_logins_are_throttled_per_name_and_per_ip(db: None, redis: Redis, clock: FrozenClock) -> None:
    console = FAST.model_copy(update={"login_failures_per_name": 3, "login_failures_per_ip": 5})
    _, password = await service.add("小王", "staff", console=FAST)

    async def attempt(name: str, secret: str, ip: str) -> LoginRefused | None:
        try:
            await service.authenticate(name, secret, ip, redis=redis, clock=clock, console=console)
        except LoginRefused as refused:
            return refused
        return None

    # An unknown name, a wrong password: the same words, not throttled yet.
    unknown, wrong = await attempt("没有这个人", "x", "10.0.0.9"), await attempt("小王", "x", "10.0.0.1")
    assert unknown is not None
    assert wrong is not None
    assert (unknown.message_zh, unknown.retry_after_s) == (wrong.message_zh, None) == ("用户名或密码错误", None)
    clock.advance(timedelta(minutes=1))
    for ip in ("10.0.0.2", "10.0.0.3"):  # three failures for the name, from three addresses
        assert await attempt("小王", "x", ip) is not None
    throttled = await attempt("小王", password, "10.0.0.4")  # the right password, a fresh address
    assert throttled is not None
    assert throttled.message_zh == "登录失败次数过多，请 14 分钟后再试"
    assert throttled.retry_after_s == pytest.approx(14 * 60)  # the first failure leaves the window in 14 min
    clock.advance(timedelta(minutes=14))
    assert await attempt("小王", password, "10.0.0.4") is None  # two failures left in the window
    for _ in range(3):  # a success forgot the name's failures
        assert (await attempt("小王", "x", "10.0.0.4")) is not None
    assert (await attempt("小王", password, "10.0.0.4")) is not None

    # Per IP: five failures from one address over different names lock that address only.
    for n in range(4):
        refused = await attempt(f"猜{n}", "x", "10.9.9.9")
        assert refused is not None
        assert refused.retry_after_s is None
    blocked = await attempt("另一个", "x", "10.9.9.9")  # the 5th failure ...
    assert blocked is not None
    assert blocked.retry_after_s is None
    blocked = await attempt("又一个", "x", "10.9.9.9")  # ... and the 6th attempt is refused unchecked
    assert blocked is not None
    assert blocked.retry_after_s == pytest.approx(15 * 60)
    assert await attempt("新名字", "x", "10.9.9.8") is not None  # another address still gets checked
    clock.advance(timedelta(minutes=15, seconds=1))
    assert (await attempt("又一个", "x", "10.9.9.9")) is not None
    assert (await attempt("又一个", "x", "10.9.9.9")).retry_after_s is None  # type: ignore[union-attr]


def test_the_roles_are_the_apis() -> None:
    assert set(service.ROLES) == set(get_args(ApiRole))
