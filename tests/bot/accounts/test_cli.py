"""`hub users add|reset|disable|enable|list` on both databases: the one-time password is printed once,
and bad input is a clear message with exit code 2 (a duplicate or unknown account: 1)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.accounts import passwords
from bot.cli import console_hint, main
from bot.db import open_db
from models.accounts import Account


@pytest.fixture(autouse=True)
def _restore_logging(restore_logging: None) -> None:
    """The CLI configures logging for the process (tests/conftest.py puts it back)."""


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HUB__DATABASE__URL", db_url)
    monkeypatch.setenv("HUB__DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUB__CONSOLE__PASSWORD_HASHING", "insecure_fast_for_tests")
    monkeypatch.setenv("HUB__SERVER__PUBLIC_URL", "https://hub.example")
    return db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["users", *argv])
    out, err = capsys.readouterr()
    return code, out, err


async def _stored(url: str, name: str) -> Account | None:
    async with open_db(url):
        return await Account.get_or_none(name=name)


def stored(url: str, name: str) -> Account | None:
    return asyncio.run(_stored(url, name))


def test_users_commands(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert (code, out) == (0, "no accounts yet: hub users add NAME --role admin\n")
    assert "create the first admin with `hub users add NAME --role admin`" in asyncio.run(console_hint(env))

    code, out, err = run(capsys, "add", "店长", "--role", "admin")
    assert code == 0, err
    password = re.search(r"one-time password: (\S+)", out)
    assert password is not None
    assert "account '店长' added (admin)" in out
    assert "店长 logs in at https://hub.example/login and must then choose a new password (at least 10" in out
    account = stored(env, "店长")
    assert account is not None
    assert (account.role, account.person, account.must_change_password) == ("admin", None, True)
    assert asyncio.run(passwords.verify_password(account.password_hash, password[1], "insecure_fast_for_tests"))
    assert password[1] not in account.password_hash

    code, out, _ = run(capsys, "add", "小王", "--role", "staff", "--person", "售后小王")
    assert (code, "account '小王' added (staff, person 售后小王)" in out) == (0, True)

    code, out, err = run(capsys, "reset", "小王")
    assert code == 0, err
    assert "password reset, its sessions ended" in out
    assert "one-time password: " in out
    assert run(capsys, "disable", "小王")[0] == 0
    disabled = stored(env, "小王")
    assert disabled is not None
    assert disabled.disabled

    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "role", "person", "state", "last", "login"]
    assert lines[1].split() == ["小王", "staff", "售后小王", "disabled", "-"]
    assert lines[2].split() == ["店长", "admin", "-", "must", "change", "password", "-"]
    assert asyncio.run(console_hint(env)).startswith("1 active;")  # `hub run` says so at start
    assert run(capsys, "enable", "小王")[0] == 0
    enabled = stored(env, "小王")
    assert enabled is not None
    assert not enabled.disabled


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("add", "老板", "--role", "root"), 2, "hub users: unknown role 'root'; use one of staff, manager, admin"),
        (("add", "老板"), 2, "hub users: add: give --role staff, manager or admin"),
        (
            ("add", "老板", "--role", "staff", "--person", "王五"),
            2,
            "hub users: unknown person '王五': not a name in rules/people.yaml",
        ),
        (("reset",), 2, "hub users: reset: give the account's NAME"),
        (("add", "店长", "--role", "staff"), 1, "hub users: an account named '店长' exists already"),
        (("disable", "谁"), 1, "hub users: no account named '谁'"),
    ],
)
def test_users_errors(
    env: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], code: int, message: str
) -> None:
    if "店长" in argv:
        assert run(capsys, "add", "店长", "--role", "admin")[0] == 0
    got, out, err = run(capsys, *argv)
    assert (got, err.strip().splitlines()[-1]) == (code, message)
    assert "one-time password" not in out
    assert stored(env, "老板") is None
