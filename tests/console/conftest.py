"""Console fixtures: the real app with three accounts (staff, manager, admin), a client that logs in as
any of them through the login form, and a few rows to show."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from tortoise.transactions import in_transaction

from bot.accounts import passwords
from bot.alerts.service import AlertSpec, Opened, Wakeups
from bot.api.alerts import ALERTS
from bot.app import create_app
from bot.clock import FrozenClock
from bot.settings import Settings
from models.accounts import Account
from models.alerts import Alert
from models.conversations import Conversation
from models.messages import InboundMessage, ProcessingState
from tests.conftest import build_settings

PASSWORD = "console-pw-0123456789"
ROLES = ("staff", "manager", "admin")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_settings(db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    settings = build_settings(db_url, redis_url, tmp_path)
    console = settings.console.model_copy(update={"password_hashing": "insecure_fast_for_tests"})
    return settings.model_copy(update={"console": console})


async def add_accounts(now: datetime) -> None:
    digest = await passwords.hash_password(PASSWORD, "insecure_fast_for_tests")
    for role in ROLES:
        await Account.create(
            name=f"{role}-1",
            role=role,
            password_hash=digest,
            must_change_password=False,
            created_at=now,
            password_set_at=now,
        )


async def csrf_of(client: TestClient[Any, Any], path: str) -> str:
    page = await client.get(path)
    found = CSRF.search(await page.text())
    assert found is not None, f"no CSRF field on {path}"
    return found.group(1)


async def log_in(client: TestClient[Any, Any], role: str) -> None:
    token = await csrf_of(client, "/login")
    answer = await client.post(
        "/login",
        data={"csrf_token": token, "name": f"{role}-1", "password": PASSWORD, "next": "/board"},
        allow_redirects=False,
    )
    assert answer.status == 303, await answer.text()


@pytest.fixture
async def console(
    db_url: str, redis_url: str, tmp_path: Path, clock: FrozenClock, aiohttp_client: Callable[..., Any]
) -> TestClient[Any, Any]:
    app = create_app(console_settings(db_url, redis_url, tmp_path), clock=clock)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    await add_accounts(clock.now())
    return client


async def add_conversation(name: str, now: datetime, kind: str = "group") -> Conversation:
    return await Conversation.create(kind=kind, key=name, name=name, created_at=now, last_message_at=now)


async def add_message(conv: Conversation, sender: str, text: str, at: datetime, **fields: Any) -> InboundMessage:
    defaults: dict[str, Any] = {
        "robot_id": "robot-a",
        "raw_text": text,
        "content_hash": uuid.uuid4().hex[:16],
        "payload": {},
        "state": ProcessingState.PROCESSED,
        "processed_at": at + timedelta(seconds=1),
    }
    return await InboundMessage.create(
        conversation=conv, sender_name=sender, text=text, received_at=at, **{**defaults, **fields}
    )


async def add_alert(
    client: TestClient[Any, Any], now: datetime, conversation_id: int | None = None, subject: str = "用户甲"
) -> Alert:
    """An alert opened by the app's own service (its policy snapshot as a real one)."""
    spec = AlertSpec("complaint_unhandled", subject=subject, conversation_id=conversation_id, detail="用户投诉未处理")
    async with in_transaction() as conn:
        opened: Opened = await client.app[ALERTS].open(spec, now, conn, Wakeups())
    return opened.alert
