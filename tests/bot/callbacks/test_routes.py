"""The callback endpoints through the real app factory, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from bot.clock import FrozenClock
from models.callbacks import ResultCallback
from models.conversations import Conversation, ConversationName
from models.messages import InboundMessage, MessageSighting
from models.robots import Robot, RobotStatusEvent
from tests.conftest import CALLBACK_TOKEN

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "worktool"
Client = TestClient[Any, Any]


def url(robot: str = "wt-robot-1", kind: str = "message", token: str = CALLBACK_TOKEN) -> str:
    return f"/worktool/{robot}/{kind}?token={token}"


def msg(text: str = "二维码过期了", sender: str = "号主A", group: str = "客户群1", **extra: Any) -> dict[str, Any]:
    return {"spoken": text, "rawSpoken": text, "receivedName": sender, "groupName": group, "roomType": 1, **extra}


async def robots_of(message_id: int) -> list[str]:
    """Every robot that reported the message: the one whose report created it, then the copies."""
    message = await InboundMessage.get(id=message_id)
    copies = await MessageSighting.filter(message_id=message_id).order_by("id")
    return [message.robot_id, *(c.robot_id for c in copies)]


async def post(client: Client, body: dict[str, Any], robot: str = "wt-robot-1") -> dict[str, Any]:
    resp = await client.post(url(robot), json=body)
    assert resp.status == 200, await resp.text()
    result: dict[str, Any] = await resp.json()
    return result


@pytest.mark.parametrize(
    "sample",
    [
        "01_msg_callback_doc_example_string_atMe.json",
        "02_msg_callback_doc_demo_thirdQa_bool_atMe.json",
        "05_msg_callback_real_observed_luojidr.json",
        "06_msg_callback_recorded_sanitized_no_at_with_messageId.json",
    ],
)
async def test_real_samples_are_stored(client: Client, sample: str) -> None:
    data = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    body = await post(client, data)
    assert body["code"] == 0
    message = await InboundMessage.get(id=body["messageId"])
    assert message.text == data["spoken"]
    assert message.payload == data  # unknown fields (fileName, filePath) kept as received
    assert message.at_me is (str(data["atMe"]).lower() == "true")


@pytest.mark.parametrize(
    "sample", ["03_msg_callback_platform_bind_test_payload.json", "04_msg_callback_doc_demo2_repeater.json"]
)
async def test_binding_test_payload_is_acknowledged_not_stored(client: Client, sample: str) -> None:
    resp = await client.post(url(), data=(SAMPLES / sample).read_bytes(), headers={"Content-Type": "application/json"})
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert (await resp.json())["code"] == 0
    assert await InboundMessage.all().count() == 0


async def test_form_body_with_string_fields(client: Client) -> None:
    form = {
        "spoken": "在吗",
        "receivedName": "号主B",
        "groupName": "客户群2",
        "roomType": "1",
        "atMe": "true",
        "textType": "1",
    }
    resp = await client.post(url(), data=form)
    assert resp.status == 200, await resp.text()
    resp2 = await client.post(url(), data=FormData({**form, "spoken": "multipart", "rawSpoken": "multipart"}))
    assert resp2.status == 200, await resp2.text()
    rows = await InboundMessage.all().order_by("id")
    assert [(m.text, m.at_me, m.room_type) for m in rows] == [("在吗", True, 1), ("multipart", True, 1)]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "error", "words"),
    [
        (url(token=""), b"{}", "application/json", 401, "unauthorized", "token"),
        (url(token="wrong"), b"{}", "application/json", 401, "unauthorized", "token"),
        (url(robot="ghost"), b"{}", "application/json", 404, "unknown_robot", "ghost"),
        (url(), b"", "application/json", 400, "malformed_body", "empty body"),
        (url(), b"{oops", "application/json", 400, "malformed_body", "invalid JSON"),
        (url(), b'["a"]', "application/json", 400, "malformed_body", "expected a JSON object"),
        (url(), b'{"spoken": "x"}', "application/json", 400, "invalid_callback", "receivedName: is required"),
        (url(), b'{"receivedName": "a", "atMe": "yes please"}', "application/json", 400, "invalid_callback", "atMe"),
        (url(), b'{"receivedName": "a", "roomType": "one"}', "application/json", 400, "invalid_callback", "roomType"),
        (url(), b'{"receivedName": "a", "roomType": 1}', "application/json", 400, "invalid_callback", "groupName"),
        (url(), b"plain words", "text/plain", 400, "malformed_body", "cannot read the body"),
    ],
)
async def test_rejections_say_what_is_wrong(
    client: Client, path: str, body: bytes, content_type: str, status: int, error: str, words: str
) -> None:
    resp = await client.post(path, data=body, headers={"Content-Type": content_type})
    assert resp.status == status
    payload = await resp.json()
    assert payload["error"] == error
    assert payload["code"] == status
    assert payload["data"] is None
    assert words in payload["message"]
    assert await InboundMessage.all().count() == 0


async def test_body_over_the_cap_gets_413(client: Client) -> None:
    huge = json.dumps(msg(fileBase64="A" * (11 * 1024 * 1024))).encode()
    resp = await client.post(url(), data=io.BytesIO(huge), headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["error"] == "request_entity_too_large"


async def test_image_base64_is_kept_out_of_the_payload(client: Client) -> None:
    body = await post(client, msg("", textType=2, fileBase64="iVBORw0KGgo="))
    message = await InboundMessage.get(id=body["messageId"])
    assert message.file_base64 == "iVBORw0KGgo="
    assert "fileBase64" not in message.payload
    assert message.payload["fileBase64Length"] == 12


async def test_same_message_id_twice_is_stored_once(client: Client) -> None:
    first = await post(client, msg(messageId="m-1"))
    second = await post(client, msg(messageId="m-1"))
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert first["messageId"] == second["messageId"]
    assert await InboundMessage.all().count() == 1
    assert await robots_of(first["messageId"]) == ["wt-robot-1"]
    assert (await InboundMessage.get(id=first["messageId"])).external_id == "m-1"


async def test_copies_from_several_robots_are_one_message_with_its_robots(client: Client) -> None:
    a = await post(client, msg("@小助手 在吗", messageId="a-1"), robot="wt-robot-1")
    b = await post(client, msg("@小助手 在吗", messageId="b-7"), robot="wt-robot-2")
    assert a["messageId"] == b["messageId"]
    assert b["duplicate"] is True
    assert await robots_of(a["messageId"]) == ["wt-robot-1", "wt-robot-2"]
    copy = await MessageSighting.get(message_id=a["messageId"])
    assert copy.external_id == "b-7"


async def test_redelivery_without_id_inside_window_then_new_after(client: Client, clock: FrozenClock) -> None:
    first = await post(client, msg("好的"))
    clock.advance(timedelta(seconds=5))
    again = await post(client, msg("好的", messageId="late-id"))  # the second copy carries the id
    assert again["messageId"] == first["messageId"]
    assert (await InboundMessage.get(id=first["messageId"])).external_id == "late-id"
    clock.advance(timedelta(seconds=30))
    later = await post(client, msg("好的"))
    assert later["messageId"] != first["messageId"]
    assert await InboundMessage.all().count() == 2


async def test_a_copy_redelivered_with_its_id_gets_the_id(client: Client, clock: FrozenClock) -> None:
    first = await post(client, msg("收到"), robot="wt-robot-1")
    await post(client, msg("收到"), robot="wt-robot-2")
    clock.advance(timedelta(seconds=2))
    again = await post(client, msg("收到", messageId="r2-id"), robot="wt-robot-2")
    assert again["messageId"] == first["messageId"]
    assert (await MessageSighting.get(message_id=first["messageId"])).external_id == "r2-id"
    assert (await InboundMessage.get(id=first["messageId"])).external_id is None


async def test_same_robot_different_ids_are_two_messages(client: Client) -> None:
    await post(client, msg("好的", messageId="x1"))
    await post(client, msg("好的", messageId="x2"))
    assert await InboundMessage.all().count() == 2


async def test_concurrent_duplicates_are_stored_once(client: Client) -> None:
    bodies = []
    for i in range(30):
        robot = ("wt-robot-1", "wt-robot-2")[i % 2]
        extra = {"messageId": f"{robot}-dup"} if i % 3 else {}
        bodies.append((msg("同一条消息", **extra), robot))
    bodies += [(msg(f"不同的消息 {i}"), "wt-robot-1") for i in range(10)]
    results = await asyncio.gather(*(post(client, body, robot) for body, robot in bodies))
    assert await InboundMessage.all().count() == 11
    same = {r["messageId"] for r in results[:30]}
    assert len(same) == 1
    assert sorted(await robots_of(same.pop())) == ["wt-robot-1", "wt-robot-2"]


async def test_conversations_keyed_by_remark_record_renames(client: Client) -> None:
    await post(client, msg("1", group="旧群名", groupRemark="客户A群"))
    await post(client, msg("2", group="新群名", groupRemark="客户A群"))
    conv = await Conversation.get(key="客户A群")
    assert conv.name == "新群名"
    names = await ConversationName.filter(conversation_id=conv.id).order_by("id").values_list("name", flat=True)
    assert list(names) == ["旧群名", "新群名"]  # type: ignore[comparison-overlap]
    assert await Conversation.all().count() == 1


async def test_private_chats_are_keyed_by_contact(client: Client) -> None:
    await post(client, {"spoken": "你好", "receivedName": "号主C", "groupName": "", "roomType": 2})
    conv = await Conversation.get(kind="private")
    assert (conv.key, conv.name) == ("号主C", "号主C")


async def test_result_callback_is_stored_even_without_message_id(client: Client) -> None:
    data = json.loads((SAMPLES / "50_result_callback_doc_example.json").read_text(encoding="utf-8"))
    resp = await client.post(url(kind="result"), json=data)
    assert resp.status == 200
    resp2 = await client.post(url(kind="result"), json={"something": "else"})
    assert resp2.status == 200
    rows = await ResultCallback.all().order_by("id")
    assert [(r.message_id, r.error_code) for r in rows] == [("990000200110099239", 0), ("", None)]
    assert rows[0].payload == data


async def test_status_callback_keeps_any_body(client: Client) -> None:
    resp = await client.post(url(kind="status"), json={"msgtype": "text", "text": {"content": "机器人下线"}})
    assert resp.status == 200
    resp2 = await client.post(url(kind="status"), json={"type": 6})
    assert resp2.status == 200
    events = await RobotStatusEvent.all().order_by("id")
    assert [e.online for e in events] == [None, False]
    assert (await Robot.get(id="wt-robot-1")).online is False
