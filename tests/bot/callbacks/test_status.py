"""The online/offline callback route (types 5/6) through the real app, on SQLite and PostgreSQL: `?kind=` first,
then the body's flags; any body is kept; only the token and the robot are ever refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from bot.callbacks.status import excerpt, parse_status_body
from models.robots import Robot, RobotStatusEvent
from tests.conftest import CALLBACK_TOKEN

Client = TestClient[Any, Any]
WEBHOOK_OFFLINE = {"msgtype": "text", "text": {"content": "机器人小助手(wt-robot-1)已下线"}}


def status_url(kind: str | None = None, token: str = CALLBACK_TOKEN, robot: str = "wt-robot-1") -> str:
    return f"/worktool/{robot}/status?" + (f"kind={kind}&" if kind is not None else "") + f"token={token}"


async def post(client: Client, url: str, **body: Any) -> None:
    resp = await client.post(url, **body)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"code": 0, "message": "ok"}


async def events() -> list[tuple[bool | None, Any]]:
    return [(e.online, e.payload) for e in await RobotStatusEvent.filter(robot_id="wt-robot-1").order_by("id")]


async def test_the_kind_decides_whatever_the_body_says(client: Client) -> None:
    await post(client, status_url("offline"), json=WEBHOOK_OFFLINE)  # the docs' webhook shape
    assert (await Robot.get(id="wt-robot-1")).online is False
    await post(client, status_url("online"))  # no body at all
    await post(client, status_url("offline"), data=FormData({"robotId": "wt-robot-1", "event": "下线"}))
    await post(client, status_url("online"), data=b"robot up", headers={"Content-Type": "text/plain"})
    await post(client, status_url("offline"), json=["a", "list"])
    await post(client, status_url("online"), data=b'{"broken": ', headers={"Content-Type": "application/json"})
    await post(client, status_url("offline"), json={"type": 5, "status": "online"})  # the URL wins
    await post(
        client, status_url("online"), data=b'{"note": "a\\u0000b"}', headers={"Content-Type": "application/json"}
    )
    assert await events() == [
        (False, WEBHOOK_OFFLINE),
        (True, {}),
        (False, {"robotId": "wt-robot-1", "event": "下线"}),
        (True, {"unreadableBody": "robot up"}),
        (False, {"body": ["a", "list"]}),
        (True, {"unreadableBody": '{"broken": '}),
        (False, {"type": 5, "status": "online"}),
        (True, {"note": "a\ufffdb"}),  # PostgreSQL's jsonb refuses a NUL: cleaned, still stored
    ]
    assert (await Robot.get(id="wt-robot-1")).online is True


async def test_without_a_kind_the_body_flags_decide_and_a_webhook_text_decides_nothing(client: Client) -> None:
    # the only refusals: a bad token, an unknown robot
    assert (await client.post(status_url("online", token="wrong"), json={})).status == 401
    assert (await client.post(status_url("online", robot="nobody"), json={})).status == 404
    assert await events() == []
    await post(client, status_url(), json={"type": 6})
    await post(client, status_url(), json=WEBHOOK_OFFLINE)
    await post(client, status_url("sideways"), json={})  # an unknown kind is no kind
    await post(
        client, status_url(), data="status=online", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert [online for online, _ in await events()] == [False, None, None, True]
    assert (await Robot.get(id="wt-robot-1")).online is True


async def test_the_log_says_the_size_and_a_masked_excerpt_never_the_body(client: Client) -> None:
    content = "机器人已下线 " + "x" * 500
    body = {"msgtype": "text", "text": {"content": content}, "key": "s3cr3t-webhook-key", "mobile": "13812345678"}
    raw = json.dumps(body, ensure_ascii=False).encode()
    with capture_logs() as logs:
        await post(client, status_url("offline"), data=raw, headers={"Content-Type": "application/json"})
    [entry] = [e for e in logs if e["event"] == "robot status callback"]
    assert (entry["online"], entry["kind"], entry["body_bytes"]) == (False, "offline", len(raw))
    assert len(entry["body_excerpt"]) <= 140
    assert content not in str(entry)
    assert [(online, payload["key"]) for online, payload in await events()] == [(False, "s3cr3t-webhook-key")]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b'{"key": "abc123", "token":"t0k"}', '{"key": "***", "token":"***"}'),
        (b"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6&x=1", "webhook/send?key=***&x=1"),
        (b'{"phone": "13812345678"}', '{"phone": "[phone]"}'),
        (b"a\n  b", "a b"),
        (b"y" * 300, "y" * 120 + "…"),
    ],
)
def test_excerpts_mask_secrets_and_mobiles_and_are_short(raw: bytes, shown: str) -> None:
    assert shown in excerpt(raw)
    assert "abc123" not in excerpt(raw)
    assert "693a91f6" not in excerpt(raw)


def test_a_huge_body_is_kept_only_in_part() -> None:
    fields = parse_status_body(b"z" * 100_000)
    assert fields["bytes"] == 100_000
    assert len(fields["truncatedBody"]) == 64 * 1024
