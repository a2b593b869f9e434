"""The after-sales API over HTTP on both databases: create and auto-assign, list and filter, complete /
cancel / reassign, the user-response state, and bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.api.params import MAX_ID
from bot.clock import FrozenClock
from models.commands import Command
from models.conversations import Conversation, ConversationRobot
from models.tasks import AfterSalesTask
from tests.conftest import ADMIN_TOKEN, STAFF_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
Client = TestClient[Any, Any]


async def group(clock: FrozenClock, name: str = "客户群1") -> int:
    conversation = await Conversation.create(kind="group", key=name, name=name, created_at=clock.now())
    await ConversationRobot.create(conversation_id=conversation.id, robot_id="wt-robot-1", first_seen_at=clock.now())
    conversation_id: int = conversation.id
    return conversation_id


async def post(client: Client, path: str, body: Any, headers: dict[str, str] = STAFF) -> tuple[int, dict[str, Any]]:
    resp = await client.post(path, json=body, headers=headers)
    return resp.status, await resp.json()


async def test_auto_assign_creates_a_task_and_answers_like_the_plan(client: Client, clock: FrozenClock) -> None:
    conversation_id = await group(clock)
    status, payload = await post(
        client,
        "/api/after-sales/auto-assign",
        {"conversation_id": conversation_id, "user": "号主A", "text": "二维码过期了"},
    )
    assert status == 200, payload
    data = payload["data"]
    assert payload["message"] == "自动分配成功"
    assert data["assigned_staff"] == {"staff_user_id": "wangxiao", "staff_name": "售后小王", "current_tasks": 1}
    assert data["assignment_reason"] == "技能匹配(扫码)+负载最少"
    assert data["assigned_at"] == clock.now().isoformat()
    assert data["task"]["task_type"] == "扫码"
    announce = await Command.get(purpose="after_sales")
    assert (announce.at_list, announce.target) == (["售后小王"], "客户群1")
    # The same user and type again joins the open task: no second task, no second announcement.
    status, again = await post(
        client,
        "/api/after-sales/auto-assign",
        {"session_id": f"{conversation_id}-1", "user": "号主A", "task_type": "扫码"},
    )
    assert status == 200
    assert again["data"]["task_id"] == data["task_id"]
    assert await AfterSalesTask.all().count() == 1
    assert await Command.filter(purpose="after_sales").count() == 1


async def test_auto_assign_takes_the_plans_id_spellings(client: Client, clock: FrozenClock) -> None:
    """Ids as numbers, numeric strings or the plan's "task_001"; an id naming nothing is a 404, not a 400."""
    conversation_id = await group(clock)
    status, payload = await post(
        client,
        "/api/after-sales/auto-assign",
        {"conversation_id": f"conv_{conversation_id:03d}", "user": "号主A", "task_type": "扫码"},
    )
    assert status == 200, payload
    task = await AfterSalesTask.get(id=payload["data"]["task_id"])
    await AfterSalesTask.filter(id=task.id).update(assignee=None)  # waiting again: assignable by id
    status, payload = await post(client, "/api/after-sales/auto-assign", {"task_id": f"task_{task.id:03d}"})
    assert (status, payload["data"]["task_id"]) == (200, task.id), payload
    status, payload = await post(client, "/api/after-sales/auto-assign", {"task_id": str(task.id)})
    assert (status, payload["error"]) == (409, "conflict")  # found it: it is assigned now
    for missing in ("task_999", "999", 999, str(MAX_ID)):
        status, payload = await post(client, "/api/after-sales/auto-assign", {"task_id": missing})
        assert (status, payload["error"]) == (404, "not_found"), missing
    status, payload = await post(
        client, "/api/after-sales/auto-assign", {"conversation_id": "998", "user": "号主A", "task_type": "扫码"}
    )
    assert (status, payload["error"]) == (404, "not_found")
    out_of_range = ("9" * 29, str(MAX_ID + 1), 0)  # no row id is outside 1..MAX_ID
    for bad in ("alert_1", "task_", "一", "1.5", True, 1.0, *out_of_range):
        status, payload = await post(client, "/api/after-sales/auto-assign", {"task_id": bad})
        assert (status, payload["error"]) == (400, "invalid_request"), bad


async def test_listing_filters_and_closing(client: Client, clock: FrozenClock) -> None:
    conversation_id = await group(clock)
    ids = []
    for user, text in (("号主A", "二维码过期了"), ("号主B", "登录不上"), ("号主C", "人脸识别失败")):
        _, payload = await post(
            client, "/api/after-sales/auto-assign", {"conversation_id": conversation_id, "user": user, "text": text}
        )
        ids.append(payload["data"]["task_id"])
        clock.advance(timedelta(minutes=1))
    resp = await client.get("/api/after-sales/tasks", params={"task_type": "登录"}, headers=STAFF)
    listed = (await resp.json())["data"]
    assert (listed["total"], [t["user"] for t in listed["items"]]) == (1, ["号主B"])
    status, done = await post(client, f"/api/after-sales/{ids[0]}/complete", {"note": "已重新扫码"})
    assert (status, done["data"]["status"], done["data"]["closed_by"]) == (200, "completed", "test-staff")
    status, again = await post(client, f"/api/after-sales/{ids[0]}/complete", {})
    assert (status, again["error"]) == (409, "conflict")
    status, refused = await post(client, f"/api/after-sales/{ids[1]}/cancel", {"note": "号主已退出", "by": "张经理"})
    assert (status, refused["error"]) == (400, "invalid_request")
    assert "by is not accepted: the actor is the caller" in refused["message"]  # never the body
    status, cancelled = await post(client, f"/api/after-sales/{ids[1]}/cancel", {"note": "号主已退出"}, ADMIN)
    assert (status, cancelled["data"]["status"], cancelled["data"]["closed_by"]) == (200, "cancelled", "test-admin")
    resp = await client.get("/api/after-sales/tasks", params={"status": "open"}, headers=STAFF)
    assert [t["task_id"] for t in (await resp.json())["data"]["items"]] == [ids[2]]
    since = (clock.now() - timedelta(minutes=2, seconds=30)).isoformat()  # after the first task
    resp = await client.get("/api/after-sales/tasks", params={"from": since}, headers=STAFF)
    assert [t["task_id"] for t in (await resp.json())["data"]["items"]] == [ids[2], ids[1]]


async def test_reassign_by_hand_and_automatically(client: Client, clock: FrozenClock) -> None:
    clock.advance(timedelta(hours=4))  # 14:00 in Shanghai: both staff on shift
    conversation_id = await group(clock)
    _, payload = await post(
        client,
        "/api/after-sales/auto-assign",
        {"conversation_id": conversation_id, "user": "号主A", "text": "登录不上"},
    )
    task_id = payload["data"]["task_id"]
    first = payload["data"]["assigned_staff"]["staff_name"]
    status, moved = await post(client, f"/api/after-sales/{task_id}/reassign", {})
    assert status == 200
    assert moved["data"]["assignee"] not in (None, first)
    assert moved["data"]["reassignments"] == 1
    status, back = await post(
        client, f"/api/after-sales/{task_id}/reassign", {"assignee": first, "reason": "熟悉这个号"}
    )
    assert (status, back["data"]["assignee"], back["data"]["assignment_reason"]) == (200, first, "手动指派(test-staff)")
    status, same = await post(client, f"/api/after-sales/{task_id}/reassign", {"assignee": first})
    assert (status, same["error"]) == (409, "conflict")
    status, nobody = await post(client, f"/api/after-sales/{task_id}/reassign", {"assignee": "运营阿杰"})
    assert (status, nobody["error"]) == (422, "invalid_request")
    assert "not a staff member" in nobody["message"]


async def test_user_response_state(client: Client, clock: FrozenClock) -> None:
    conversation_id = await group(clock)
    _, payload = await post(
        client,
        "/api/after-sales/auto-assign",
        {"conversation_id": conversation_id, "user": "号主A", "text": "验证码收不到"},
    )
    task_id = payload["data"]["task_id"]
    resp = await client.get(f"/api/after-sales/{task_id}/user-response", headers=STAFF)
    data = (await resp.json())["data"]
    assert (data["user"], data["user_response_status"], data["waiting"], data["response_due_at"]) == (
        "号主A",
        "pending",
        False,
        None,
    )
    resp = await client.get("/api/after-sales/999/user-response", headers=STAFF)
    assert resp.status == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "give task_id, or conversation_id"),
        ({"conversation_id": 1}, "user: the owner"),
        ({"conversation_id": 1, "user": "号主A"}, "give task_type or the user's text"),
        ({"task_id": 1, "user": "号主A"}, "with task_id, give nothing else"),
        ({"conversation_id": "one", "user": "号主A", "text": "x"}, "conversation_id"),
        ({"conversation_id": 1, "user": "号主A", "text": "x", "color": "red"}, "color"),
        ({"conversation_id": 1, "user": "号主A", "text": "x", "priority": "asap"}, "priority"),
    ],
)
async def test_bad_assign_requests_say_what_is_wrong(client: Client, body: dict[str, Any], message: str) -> None:
    status, payload = await post(client, "/api/after-sales/auto-assign", body)
    assert status == 400
    assert message in payload["message"]


async def test_the_plans_full_example_is_told_exactly_what_to_send(client: Client) -> None:
    """'session_001' names no session (ours are '<conversation id>-<first message id>'), and with task_id the
    task's type and conversation are its own: a 400 that says what to send instead (one app per database for
    both bodies)."""
    plan = {"task_id": "task_001", "task_type": "扫码视频认证", "priority": "high", "session_id": "session_001"}
    status, payload = await post(client, "/api/after-sales/auto-assign", plan)
    assert status == 400
    assert 'send {"task_id": 1} alone (also got session_id, task_type;' in payload["message"]
    body = {"session_id": "session_001", "user": "号主A", "text": "扫码"}
    status, payload = await post(client, "/api/after-sales/auto-assign", body)
    assert status == 400
    assert "'<conversation id>-<first message id>'" in payload["message"]
    assert "/api/groups/{group_id}/sessions" in payload["message"]


async def test_unknown_things_are_404_or_422(client: Client, clock: FrozenClock) -> None:
    status, payload = await post(
        client, "/api/after-sales/auto-assign", {"conversation_id": 99, "user": "号主A", "text": "扫码"}
    )
    assert (status, payload["error"]) == (404, "not_found")
    conversation_id = await group(clock)
    status, payload = await post(
        client,
        "/api/after-sales/auto-assign",
        {"conversation_id": conversation_id, "user": "号主A", "task_type": "修电脑"},
    )
    assert status == 422
    assert "not in rules/assignment.yaml" in payload["message"]
    status, payload = await post(client, "/api/after-sales/auto-assign", {"task_id": 77})
    assert status == 404
    for path in ("/api/after-sales/77/complete", "/api/after-sales/77/cancel", "/api/after-sales/77/reassign"):
        status, _ = await post(client, path, {})
        assert status == 404
    status, _ = await post(client, "/api/after-sales/abc/complete", {})
    assert status == 400
    resp = await client.post("/api/after-sales/1/complete", data="{not json", headers=STAFF)
    assert resp.status == 400
    resp = await client.get("/api/after-sales/tasks", params={"status": "lost"}, headers=STAFF)
    assert resp.status == 400
    resp = await client.get("/api/after-sales/tasks")
    assert resp.status == 401


async def test_assigning_an_assigned_task_points_to_reassign(client: Client, clock: FrozenClock) -> None:
    conversation_id = await group(clock)
    _, payload = await post(
        client, "/api/after-sales/auto-assign", {"conversation_id": conversation_id, "user": "号主A", "text": "扫码"}
    )
    status, again = await post(client, "/api/after-sales/auto-assign", {"task_id": payload["data"]["task_id"]}, ADMIN)
    assert status == 409
    assert "/reassign" in again["message"]
