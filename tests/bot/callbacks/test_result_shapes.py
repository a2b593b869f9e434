"""Result callbacks are fired once: every body is stored, whatever its shape (issue 11 §3), both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.callbacks.payloads import ResultCallback as ResultBody
from bot.clock import FrozenClock
from models.callbacks import ResultCallback
from models.commands import Command, CommandStatus
from tests.conftest import CALLBACK_TOKEN

Client = TestClient[Any, Any]
URL = f"/worktool/wt-robot-1/result?token={CALLBACK_TOKEN}"
RAW_MSG = json.dumps({"type": 203, "titleList": ["客户群1"], "receivedContent": "您好"}, ensure_ascii=False)


async def sent_command(clock: FrozenClock, message_id: str = "1784417250785046528") -> Command:
    now = clock.now()
    return await Command.create(
        idempotency_key="k1",
        reply_key="k1",
        robot_id="wt-robot-1",
        purpose="manual",
        type=203,
        target="客户群1",
        content="您好",
        status=CommandStatus.SENT,
        created_at=now,
        sent_at=now,
        result_due_at=now + timedelta(seconds=60),
        worktool_message_id=message_id,
        batch_index=0,
    )


async def test_form_mode_lists_as_json_text_fail_the_command(client: Client, clock: FrozenClock) -> None:
    command = await sent_command(clock)
    form = {
        "messageId": "1784417250785046528",
        "errorCode": "201102",
        "errorReason": "发送失败",
        "runTime": "1666238534935",
        "timeCost": "2.5",
        "type": "203",
        "rawMsg": RAW_MSG,
        "successList": "[]",
        "failList": '["客户群1"]',
    }
    resp = await client.post(URL, data=form)  # application/x-www-form-urlencoded, every value a string
    assert resp.status == 200, await resp.text()
    row = await ResultCallback.get()
    assert (row.message_id, row.error_code, row.command_id) == ("1784417250785046528", 201102, command.id)
    await command.refresh_from_db()
    assert command.status is CommandStatus.FAILED
    assert (command.error_code, command.fail_list, command.success_list) == (201102, ["客户群1"], [])
    assert command.time_cost_s == 2.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["甲", "乙"]', ["甲", "乙"]),
        ("甲, 乙", ["甲", "乙"]),
        ("", []),
        (["甲", 7], ["甲", "7"]),
        ({"not": "a list"}, None),
        ("[broken", None),
        ([["nested"]], None),
        (3.5, None),
    ],
)
def test_target_lists_are_read_in_every_shape(value: Any, expected: list[str] | None) -> None:
    assert ResultBody.model_validate({"successList": value}).success_list == expected


ODD_BODIES: list[tuple[str, bytes, str]] = [
    ("huge errorCode", b'{"messageId": "1", "errorCode": 1180591620717411303424}', "application/json"),
    ("errorCode words", b'{"messageId": "1", "errorCode": "abc"}', "application/json"),
    ("messageId 100 chars", json.dumps({"messageId": "9" * 100, "errorCode": 0}).encode(), "application/json"),
    ("messageId 200 chars", json.dumps({"messageId": "9" * 200, "errorCode": 0}).encode(), "application/json"),
    (
        "NUL and a lone surrogate",
        b'{"messageId": "1", "errorReason": "a\\u0000b\\ud800", "x\\u0000": 1}',
        "application/json",
    ),
    (
        "non-finite numbers",
        b'{"messageId": "1", "errorCode": 0, "timeCost": Infinity, "runTime": NaN}',
        "application/json",
    ),
    (
        "lists of objects",
        b'{"messageId": "1", "errorCode": 0, "successList": [{"a": 1}], "failList": 5}',
        "application/json",
    ),
    ("rawMsg as an object", b'{"messageId": "1", "errorCode": 0, "rawMsg": {"type": 203}}', "application/json"),
    ("not JSON at all", b"{bad", "application/json"),
    ("a JSON array", b'["a", "b"]', "application/json"),
    ("empty", b"", "application/json"),
    ("plain text", b"errorCode is zero", "text/plain"),
]


@pytest.mark.parametrize(("case", "body", "content_type"), ODD_BODIES, ids=[c for c, _, _ in ODD_BODIES])
async def test_odd_bodies_are_stored_not_refused(client: Client, case: str, body: bytes, content_type: str) -> None:
    resp = await client.post(URL, data=body, headers={"Content-Type": content_type})
    assert resp.status == 200, f"{case}: {await resp.text()}"
    row = await ResultCallback.get()
    assert row.payload, case
    assert len(row.message_id) <= 128
    assert row.error_code is None or -(2**31) <= row.error_code < 2**31


async def test_an_unreadable_error_code_leaves_the_command_to_the_result_check(
    client: Client, clock: FrozenClock
) -> None:
    command = await sent_command(clock)
    resp = await client.post(URL, json={"messageId": "1784417250785046528", "errorCode": "?", "rawMsg": RAW_MSG})
    assert resp.status == 200
    await command.refresh_from_db()
    assert command.status is CommandStatus.SENT  # not guessed: rawMsg/list or `unknown` decides at the due time
    row = await ResultCallback.get()
    assert row.command_id == command.id


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/worktool/wt-robot-1/result?token=wrong", 401),
        ("/worktool/wt-robot-1/result", 401),
        (f"/worktool/ghost/result?token={CALLBACK_TOKEN}", 404),
    ],
)
async def test_only_a_bad_token_or_an_unknown_robot_is_refused(client: Client, url: str, status: int) -> None:
    resp = await client.post(url, json={"messageId": "1", "errorCode": 0})
    assert resp.status == status
    assert await ResultCallback.all().count() == 0
