"""Console accounts: add, reset, disable, enable, change a password, and log in (throttled).

Every function works on the tortoise connection of the process (the web app's or the CLI's). Settings
that matter (hashing parameters, minimum password length, throttle limits) come in as `console`
(`settings.console`); without it, the defaults of `ConsoleSettings` apply.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Collection
from datetime import datetime
from typing import Final, Literal

import structlog
from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError

from bot import limits
from bot.accounts import passwords, throttle
from bot.clock import Clock, SystemClock
from bot.settings import ApiRole, ConsoleSettings
from models.accounts import Account
from models.people import Person

log = structlog.get_logger(__name__)

ROLES: Final = ("staff", "manager", "admin")  # the order of rank (ApiRole)
REFUSED_ZH: Final = "用户名或密码错误"  # unknown name, wrong password and disabled account alike
THROTTLED_ZH: Final = "登录失败次数过多，请 {minutes} 分钟后再试"
DEFAULTS: Final = ConsoleSettings()
MAX_PASSWORD_CHARS: Final = 1024  # hashing cost grows with the length; nobody types more


class AccountError(Exception):
    """A request about accounts that cannot be done; the message says why (for the CLI and pages).

    `kind`: "invalid" (a bad role, person, name or password), "exists", "not_found", "wrong_password"."""

    def __init__(self, message: str, kind: Literal["invalid", "exists", "not_found", "wrong_password"]) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class LoginRefused(Exception):
    """A login that did not succeed: `message_zh` is what to show; `retry_after_s` is set when throttled."""

    def __init__(self, message_zh: str, retry_after_s: float | None = None) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.retry_after_s = retry_after_s


def _clock(clock: Clock | None) -> Clock:
    return clock if clock is not None else SystemClock()


def check_name(name: str) -> str:
    """The account name as stored (trimmed); AccountError when empty, too long or holding control characters."""
    cleaned = name.strip()
    if not cleaned:
        raise AccountError("the name is empty", "invalid")
    if len(cleaned) > limits.NAME_CHARS:
        raise AccountError(f"the name is longer than {limits.NAME_CHARS} characters", "invalid")
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise AccountError("the name holds control or invisible characters", "invalid")
    return cleaned


def check_role(role: str) -> ApiRole:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}", "invalid")
    return role  # type: ignore[return-value]  # checked just above


def check_password(password: str, console: ConsoleSettings = DEFAULTS) -> None:
    if len(password) < console.min_password_chars:
        raise AccountError(f"密码至少需要 {console.min_password_chars} 个字符", "invalid")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"密码过长（最多 {MAX_PASSWORD_CHARS} 个字符）", "invalid")


async def _check_person(person: str, people: Collection[str] | None) -> None:
    known = people if people is not None else await Person.filter(name=person).values_list("name", flat=True)
    if person not in known:
        raise AccountError(f"unknown person {person!r}: not a name in rules/people.yaml", "invalid")


async def get(name: str) -> Account:
    account = await Account.get_or_none(name=name.strip())
    if account is None:
        raise AccountError(f"no account named {name.strip()!r}", "not_found")
    return account


async def add(
    name: str,
    role: str,
    person: str | None = None,
    *,
    people: Collection[str] | None = None,
    console: ConsoleSettings = DEFAULTS,
    clock: Clock | None = None,
) -> tuple[Account, str]:
    """A new account with a one-time password (returned once; only its hash is kept), which must be changed
    at the first login. `person` must be a name in `people` (the names of rules/people.yaml) or, without
    `people`, in the synced people table."""
    name, checked_role = check_name(name), check_role(role)
    if person is not None:
        await _check_person(person, people)
    password = passwords.one_time_password()
    now = _clock(clock).now()
    password_hash = await passwords.hash_password(password, console.password_hashing)
    try:
        account = await Account.create(
            name=name,
            role=checked_role,
            person=person,
            password_hash=password_hash,
            must_change_password=True,
            created_at=now,
            password_set_at=now,
        )
    except IntegrityError:
        raise AccountError(f"an account named {name!r} exists already", "exists") from None
    log.info("account added", account=name, role=checked_role, person=person)
    return account, password


async def reset(name: str, *, console: ConsoleSettings = DEFAULTS, clock: Clock | None = None) -> str:
    """A new one-time password (returned once), to be changed at the next login; the account's sessions end."""
    account = await get(name)
    password = passwords.one_time_password()
    account.password_hash = await passwords.hash_password(password, console.password_hashing)
    account.must_change_password = True
    account.password_set_at = _clock(clock).now()
    await account.save(update_fields=["password_hash", "must_change_password", "password_set_at"])
    log.info("account password reset", account=account.name)
    return password


async def disable(name: str, *, clock: Clock | None = None) -> Account:
    """The account can no longer log in, and its sessions end (also if it is enabled again later)."""
    account = await get(name)
    account.disabled = True
    account.sessions_revoked_at = _clock(clock).now()
    await account.save(update_fields=["disabled", "sessions_revoked_at"])
    log.info("account disabled", account=account.name)
    return account


async def enable(name: str) -> Account:
    account = await get(name)
    account.disabled = False
    await account.save(update_fields=["disabled"])
    log.info("account enabled", account=account.name)
    return account


async def list_accounts() -> list[Account]:
    return await Account.all().order_by("name")


async def change_password(
    name: str, old: str, new: str, *, console: ConsoleSettings = DEFAULTS, clock: Clock | None = None
) -> Account:
    """Set a password the person chose, after checking the current one (AccountError "wrong_password"
    otherwise). Ends the account's other sessions: log the caller in again with the returned account."""
    account = await get(name)
    if account.disabled or not await passwords.verify_password(account.password_hash, old, console.password_hashing):
        raise AccountError("当前密码不正确", "wrong_password")
    check_password(new, console)
    if new == old:
        raise AccountError("新密码不能与当前密码相同", "invalid")
    account.password_hash = await passwords.hash_password(new, console.password_hashing)
    account.must_change_password = False
    account.password_set_at = _clock(clock).now()
    await account.save(update_fields=["password_hash", "must_change_password", "password_set_at"])
    log.info("account password changed", account=account.name)
    return account


async def authenticate(
    name: str, password: str, ip: str, *, redis: Redis, clock: Clock, console: ConsoleSettings = DEFAULTS
) -> Account:
    """The account whose name and password these are, or LoginRefused: the same words for an unknown name,
    a wrong password and a disabled account; with `retry_after_s` once the name or the IP has failed too
    often within `console.login_window_s` (counted in Redis, so across every web process)."""
    now = clock.now()
    now_s, window_s = now.timestamp(), console.login_window_s
    by_name = throttle.Limit(throttle.name_key(name), console.login_failures_per_name)
    by_ip = throttle.Limit(throttle.ip_key(ip), console.login_failures_per_ip)
    wait_s = await throttle.retry_after_s(redis, (by_name, by_ip), now_s, window_s)
    if wait_s is not None:
        log.warning("login throttled", account=name[: limits.NAME_CHARS], ip=ip, retry_after_s=round(wait_s))
        raise LoginRefused(THROTTLED_ZH.format(minutes=max(1, -(-int(wait_s) // 60))), retry_after_s=wait_s)
    profile = console.password_hashing
    account = await Account.get_or_none(name=name.strip()) if 0 < len(name.strip()) <= limits.NAME_CHARS else None
    if len(password) > MAX_PASSWORD_CHARS:  # no password is that long: refused without hashing megabytes
        matched = False
    elif account is None:
        await passwords.verify_password(await asyncio.to_thread(passwords.dummy_hash, profile), password, profile)
        matched = False
    else:
        matched = await passwords.verify_password(account.password_hash, password, profile)
    if account is None or not matched or account.disabled:
        await throttle.record_failure(redis, (by_name, by_ip), now_s, window_s)
        why = "unknown name" if account is None else "disabled" if matched else "wrong password"
        log.warning("login refused", account=name[: limits.NAME_CHARS], ip=ip, reason=why)
        raise LoginRefused(REFUSED_ZH)
    await throttle.forget(redis, by_name.key)
    account.last_login_at = now
    fields = ["last_login_at"]
    if passwords.needs_rehash(account.password_hash, profile):
        account.password_hash = await passwords.hash_password(password, profile)
        fields.append("password_hash")
    await account.save(update_fields=fields)
    log.info("login", account=account.name, ip=ip, role=account.role)
    return account


def session_generation(account: Account) -> str:
    """What a session remembers of the account at login: a reset, a changed password or a disable since
    then changes it, and the session is no longer valid."""
    revoked = account.sessions_revoked_at
    return f"{_stamp(account.password_set_at)}|{_stamp(revoked) if revoked is not None else '-'}"


def _stamp(value: datetime) -> str:
    return f"{value.timestamp():.6f}"
