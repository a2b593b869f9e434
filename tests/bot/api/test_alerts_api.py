"""The alerts API through the real app, on both databases: alerts seeded through the real `AlertService`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr
from tortoise.transactions import in_transaction

from bot.alerts.service import AlertSpec, Wakeups
from bot.api.alerts import ALERTS
from bot.clock import FrozenClock
from bot.settings import ApiToken, Settings
from models.alerts import Notification, NotificationStatus
from tests.conftest import ADMIN_TOKEN, STAFF_TOKEN, build_settings

Client = TestClient[Any, Any]
MANAGER_TOKEN = "test-manager-token-0123456789abcdef"
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
MANAGER = {"Authorization": f"Bearer {MANAGER_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# The fixtures' clock starts at 2026-11-20 02:00 UTC, 10:00 in Asia/Shanghai: 售后小王 (09-21) is on duty,
# 售后小李 (13-23) is not, and nobody is in quiet hours.
ON_DUTY, SUPERVISOR, MANAGER_NAME = "售后小王", "售后小李", "张经理"


@pytest.fixture
def settings(db_url: str, redis_url: str, tmp_path: Path) -> Settings:
    """The shared settings plus a manager token (the escalate route needs one)."""
    base = build_settings(db_url, redis_url, tmp_path)
    manager = ApiToken(token=SecretStr(MANAGER_TOKEN), role="manager", name="test-manager")
    api = base.api.model_copy(update={"tokens": (*base.api.tokens, manager)})
    return base.model_copy(update={"api": api})


async def open_alert(
    client: Client,
    *,
    kind: str = "complaint_unhandled",
    subject: str = "号主A",
    conversation_id: int | None = None,
    at: datetime | None = None,
) -> int:
    service = client.app[ALERTS]
    spec = AlertSpec(kind=kind, subject=subject, conversation_id=conversation_id, where="客户群1", detail="骗子，退钱")
    async with in_transaction() as conn:
        opened = await service.open(spec, at or service.clock.now(), conn, Wakeups())
    alert_id: int = opened.alert.id
    return alert_id


async def call(
    client: Client,
    method: str,
    path: str,
    *,
    status: int = 200,
    headers: dict[str, str] = STAFF,
    json: Any = None,
    data: str | None = None,
) -> Any:
    resp = await client.request(method, path, headers=headers, json=json, data=data)
    assert resp.status == status, await resp.text()
    return await resp.json()


async def ids(client: Client, query: str) -> tuple[int, list[int]]:
    data = (await call(client, "GET", f"/api/alerts{query}"))["data"]
    return data["total"], [item["alert_id"] for item in data["items"]]


async def pending(alert_id: int, level: int) -> list[tuple[str, str]]:
    rows = await Notification.filter(alert_id=alert_id, level=level, status=NotificationStatus.PENDING).order_by("id")
    return [(n.channel, n.recipient) for n in rows]


# -- list ---------------------------------------------------------------------------------------------


async def test_list_filters(client: Client, clock: FrozenClock) -> None:
    t0 = clock.now()  # 10:00 +08:00
    complaint = await open_alert(client, conversation_id=11, at=t0)
    offline = await open_alert(client, kind="robot_offline", subject="wt-robot-1", at=t0 + timedelta(hours=1))
    refused = await open_alert(
        client, kind="user_refused", subject="号主B", conversation_id=12, at=t0 + timedelta(hours=2)
    )
    await call(client, "POST", f"/api/alerts/{refused}/cancel", json={"cancel_reason": "已沟通"})

    assert await ids(client, "") == (3, [refused, offline, complaint])  # newest first
    assert await ids(client, "?status=open") == (2, [offline, complaint])
    assert await ids(client, "?status=cancelled") == (1, [refused])
    assert await ids(client, "?kind=robot_offline") == (1, [offline])
    assert await ids(client, "?level=2") == (1, [offline])  # robot_offline starts at level 2
    assert await ids(client, "?level=1") == (2, [refused, complaint])
    assert await ids(client, "?conversation_id=11") == (1, [complaint])
    assert await ids(client, "?subject=号主B") == (1, [refused])
    assert await ids(client, "?kind=complaint_unhandled&status=cancelled") == (0, [])
    assert await ids(client, "?limit=1&offset=1") == (3, [offline])
    assert await ids(client, "?limit=2") == (3, [refused, offline])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # 11:00 +08:00 is 03:00 UTC, when the robot_offline alert opened: `from` is inclusive, `to` exclusive.
        ("from=2026-11-20T11:00:00%2B08:00", ["refused", "offline"]),
        ("from=2026-11-20T11:00:00+08:00", ["refused", "offline"]),  # unescaped: "+" arrives as a space
        ("from=2026-11-20T03:00:00Z", ["refused", "offline"]),
        ("to=2026-11-20T11:00:00+08:00", ["complaint"]),
        ("to=2026-11-20T11:00:00%2B08:00", ["complaint"]),
        ("from=2026-11-20T10:30:00+08:00&to=2026-11-20T11:30:00+08:00", ["offline"]),
        ("from=2026-11-20T10:00:00-05:00", []),  # 15:00 UTC: after all three
    ],
)
async def test_list_by_opening_time_honours_the_offset(
    client: Client, clock: FrozenClock, query: str, expected: list[str]
) -> None:
    t0 = clock.now()
    opened = {
        "complaint": await open_alert(client, at=t0),
        "offline": await open_alert(client, kind="robot_offline", subject="wt-robot-1", at=t0 + timedelta(hours=1)),
        "refused": await open_alert(client, kind="user_refused", subject="号主B", at=t0 + timedelta(hours=2)),
    }
    assert await ids(client, f"?{query}") == (len(expected), [opened[name] for name in expected])


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("kind=meteor_strike", "kind must be one of"),
        ("status=closed", "status must be one of"),
        ("level=7", "query parameter level must be between 1 and 4"),
        ("level=x", "query parameter level must be an integer"),
        ("conversation_id=abc", "query parameter conversation_id must be an integer"),
        ("from=2026-11-20T10:00:00", "query parameter from needs a time zone"),
        ("to=2026-11-20", "query parameter to needs a time zone"),
        ("to=yesterday", "query parameter to must be an ISO 8601 time"),
        ("limit=0", "query parameter limit must be between 1 and 500"),
        ("offset=-1", "query parameter offset must be between 0"),
    ],
)
async def test_list_rejects_bad_filters(client: Client, query: str, words: str) -> None:
    body = await call(client, "GET", f"/api/alerts?{query}", status=400)
    assert body["error"] == "bad_parameter"
    assert words in body["message"]


# -- detail and levels --------------------------------------------------------------------------------


async def test_detail_has_policy_events_and_notifications(client: Client, clock: FrozenClock) -> None:
    alert_id = await open_alert(client, conversation_id=11)
    clock.advance(timedelta(minutes=5))
    assert await open_alert(client, conversation_id=11, at=clock.now()) == alert_id  # recurs: one level up

    data = (await call(client, "GET", f"/api/alerts/{alert_id}"))["data"]
    assert data["alert_id"] == alert_id
    assert (data["kind"], data["title"], data["detail"]) == (
        "complaint_unhandled",
        "投诉未处理 · 客户群1",
        "骗子，退钱",
    )
    assert (data["conversation_id"], data["subject"], data["status"]) == (11, "号主A", "open")
    assert (data["level"], data["level_name"], data["max_level"]) == (2, "警告告警", 2)
    assert (data["occurrences"], data["escalation_count"]) == (2, 1)
    assert datetime.fromisoformat(data["opened_at"]) == clock.now() - timedelta(minutes=5)
    assert datetime.fromisoformat(data["last_fired_at"]) == clock.now()
    # level 3 is due 60 minutes after the opening, not after the recurrence
    assert datetime.fromisoformat(data["next_escalation_at"]) == clock.now() + timedelta(minutes=55)
    assert data["cancel_condition"] is data["cancelled_at"] is None

    policy = data["policy"]
    assert [lv["name"] for lv in policy["levels"]] == ["信息告警", "警告告警", "严重告警", "紧急告警"]
    assert policy["levels"][0]["recipients"] == [ON_DUTY]  # audiences resolved to names when it opened
    assert policy["levels"][1]["recipients"] == [ON_DUTY, SUPERVISOR]

    assert [(e["action"], e["level"], e["actor"]) for e in data["events"]] == [
        ("opened", 1, "system"),
        ("recurred", 2, "system"),
    ]
    assert data["events"][1]["detail"] == "L1→L2 #2"
    assert [(n["level"], n["channel"], n["recipient"], n["status"]) for n in data["notifications"]] == [
        (1, "wecom_app", ON_DUTY, "pending"),
        (2, "wecom_app", ON_DUTY, "pending"),
        (2, "wecom_app", SUPERVISOR, "pending"),
        (2, "group_reminder", ON_DUTY, "pending"),
        (2, "group_reminder", SUPERVISOR, "pending"),
    ]
    first = data["notifications"][0]
    assert (first["attempts"], first["fallback_of"], first["sent_at"], first["error"]) == (0, None, None, None)


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/api/alerts/999999", 404, "not_found"),
        ("/api/alerts/abc", 400, "bad_parameter"),
        ("/api/alerts/-1", 400, "bad_parameter"),
        ("/api/alerts/%C2%B2", 400, "bad_parameter"),  # "²": str.isdigit() says yes, int() says no
    ],
)
async def test_detail_of_a_missing_or_malformed_id(client: Client, path: str, status: int, error: str) -> None:
    await open_alert(client)
    body = await call(client, "GET", path, status=status)
    assert (body["code"], body["error"], body["data"]) == (status, error, None)


async def test_alert_levels_come_from_the_rule_file(client: Client) -> None:
    levels = (await call(client, "GET", "/api/alert-levels"))["data"]
    assert [(lv["level"], lv["name"], lv["after_minutes"]) for lv in levels] == [
        (1, "信息告警", 0),
        (2, "警告告警", 30),
        (3, "严重告警", 60),
        (4, "紧急告警", 90),
    ]
    assert levels[0]["channels"] == ["wecom_app"]
    assert levels[3]["channels"] == ["wecom_app", "phone", "sms"]
    assert levels[3]["recipients"] == ["escalation_list", "managers"]  # audiences, not names


# -- cancel -------------------------------------------------------------------------------------------


async def test_cancel_closes_once_and_skips_pending_notifications(client: Client, clock: FrozenClock) -> None:
    alert_id = await open_alert(client)
    assert await pending(alert_id, 1) == [("wecom_app", ON_DUTY)]
    cancelled_at = clock.now()

    body = await call(client, "POST", f"/api/alerts/{alert_id}/cancel", json={"cancel_reason": "已电话沟通"})
    assert body["message"] == "告警已取消"
    data = body["data"]
    assert data["alert_id"] == alert_id
    assert (data["status"], data["cancel_condition"], data["cancel_reason"]) == ("cancelled", "manual", "已电话沟通")
    assert data["cancelled_by"] == "test-staff"  # the token's name
    assert data["already_closed"] is False
    assert datetime.fromisoformat(data["cancelled_at"]) == cancelled_at

    clock.advance(timedelta(minutes=10))
    again = await call(
        client, "POST", f"/api/alerts/{alert_id}/cancel", json={"cancel_reason": "再来一次"}, headers=ADMIN
    )
    assert again["message"] == "告警已关闭过"
    data = again["data"]
    assert data["already_closed"] is True
    assert datetime.fromisoformat(data["cancelled_at"]) == cancelled_at  # the first close stands
    assert (data["cancel_reason"], data["cancelled_by"], data["status"]) == ("已电话沟通", "test-staff", "cancelled")

    detail = (await call(client, "GET", f"/api/alerts/{alert_id}"))["data"]
    assert detail["next_escalation_at"] is None
    assert [(e["action"], e["actor"]) for e in detail["events"]] == [("opened", "system"), ("cancelled", "test-staff")]
    assert [(n["status"], n["error"]) for n in detail["notifications"]] == [("skipped", "alert manual")]


async def test_the_actor_is_the_caller_never_the_body(client: Client) -> None:
    alert_id = await open_alert(client)
    body = {"cancel_reason": "客户已满意", "cancelled_by": "张经理"}
    refused = await call(client, "POST", f"/api/alerts/{alert_id}/cancel", json=body, headers=ADMIN, status=400)
    assert refused["error"] == "invalid_request"
    assert "cancelled_by is not accepted: the actor is the caller" in refused["message"]
    assert (await call(client, "GET", f"/api/alerts/{alert_id}"))["data"]["status"] == "open"
    data = (
        await call(
            client, "POST", f"/api/alerts/{alert_id}/cancel", json={"cancel_reason": "客户已满意"}, headers=ADMIN
        )
    )["data"]
    assert (data["cancelled_by"], data["already_closed"]) == ("test-admin", False)


async def test_cancel_of_an_unknown_alert_is_404(client: Client) -> None:
    body = await call(client, "POST", "/api/alerts/424242/cancel", json={"cancel_reason": "x"}, status=404)
    assert (body["error"], body["message"]) == ("not_found", "alert 424242 does not exist")


@pytest.mark.parametrize(
    ("data", "json", "error", "words"),
    [
        ("{not json", None, "malformed_body", "body is not valid JSON"),
        (None, {}, "invalid_request", "cancel_reason: is required"),
        (None, {"cancel_reason": ""}, "invalid_request", "cancel_reason:"),
        (None, {"cancel_reason": 5}, "invalid_request", "cancel_reason:"),
        (None, {"cancel_reason": "x", "cancelled_by": 7}, "invalid_request", "cancelled_by is not accepted"),
        (None, {"cancel_reason": "x", "reason_code": 1}, "invalid_request", "reason_code:"),
        (None, ["cancel_reason"], "invalid_request", "body must be a JSON object"),
    ],
)
async def test_cancel_rejects_bad_bodies(client: Client, data: str | None, json: Any, error: str, words: str) -> None:
    alert_id = await open_alert(client)
    body = await call(client, "POST", f"/api/alerts/{alert_id}/cancel", json=json, data=data, status=400)
    assert body["error"] == error
    assert words in body["message"]
    assert (await call(client, "GET", f"/api/alerts/{alert_id}"))["data"]["status"] == "open"


# -- escalate -----------------------------------------------------------------------------------------


async def test_escalate_needs_a_manager(client: Client) -> None:
    alert_id = await open_alert(client)
    body = {"escalate_to": 3, "escalate_reason": "客户情绪激动"}
    denied = await call(client, "POST", f"/api/alerts/{alert_id}/escalate", json=body, status=403)
    assert "needs the manager role" in denied["message"]
    assert await pending(alert_id, 3) == []
    assert (await call(client, "GET", f"/api/alerts/{alert_id}"))["data"]["level"] == 1


async def test_escalate_raises_the_level_and_queues_its_notifications(client: Client, clock: FrozenClock) -> None:
    alert_id = await open_alert(client)
    clock.advance(timedelta(minutes=3))
    body = {"escalate_to": 3, "escalate_reason": "客户情绪激动"}
    answer = await call(client, "POST", f"/api/alerts/{alert_id}/escalate", json=body, headers=MANAGER)
    assert answer["message"] == "告警已升级"
    data = answer["data"]
    assert (data["alert_id"], data["old_level"], data["new_level"], data["escalation_count"]) == (alert_id, 1, 3, 1)
    assert datetime.fromisoformat(data["escalated_at"]) == clock.now()
    level3 = [
        ("wecom_app", ON_DUTY),
        ("wecom_app", SUPERVISOR),
        ("wecom_app", MANAGER_NAME),
        ("phone", ON_DUTY),
        ("phone", SUPERVISOR),
        ("phone", MANAGER_NAME),
    ]
    assert await pending(alert_id, 3) == level3
    assert (data["notification_sent"], data["notifications_queued"]) == (True, len(level3))
    assert await pending(alert_id, 2) == []  # skipped levels are not notified

    detail = (await call(client, "GET", f"/api/alerts/{alert_id}"))["data"]
    assert (detail["level"], detail["level_name"], detail["max_level"]) == (3, "严重告警", 3)
    assert (detail["events"][-1]["action"], detail["events"][-1]["actor"]) == ("escalated", "test-manager")
    assert detail["events"][-1]["detail"] == "L1→L3 客户情绪激动"

    data = (
        await call(client, "POST", f"/api/alerts/{alert_id}/escalate", json={**body, "escalate_to": 4}, headers=ADMIN)
    )["data"]
    assert (data["old_level"], data["new_level"], data["escalation_count"]) == (3, 4, 2)
    assert len(await pending(alert_id, 4)) == data["notifications_queued"] == 9  # 3 channels x 3 people


@pytest.mark.parametrize("escalate_to", [2, 3])
async def test_escalate_not_above_the_current_level_is_a_conflict(client: Client, escalate_to: int) -> None:
    alert_id = await open_alert(client)
    body = {"escalate_to": 3, "escalate_reason": "第一次"}
    await call(client, "POST", f"/api/alerts/{alert_id}/escalate", json=body, headers=MANAGER)
    body = {"escalate_to": escalate_to, "escalate_reason": "第二次"}
    refused = await call(client, "POST", f"/api/alerts/{alert_id}/escalate", json=body, headers=MANAGER, status=409)
    assert refused["error"] == "conflict"
    assert "above the current level 3" in refused["message"]
    detail = (await call(client, "GET", f"/api/alerts/{alert_id}"))["data"]
    assert (detail["level"], detail["escalation_count"]) == (3, 1)


async def test_escalate_a_cancelled_alert_is_a_conflict(client: Client) -> None:
    alert_id = await open_alert(client)
    await call(client, "POST", f"/api/alerts/{alert_id}/cancel", json={"cancel_reason": "已处理"})
    body = {"escalate_to": 4, "escalate_reason": "晚了"}
    refused = await call(client, "POST", f"/api/alerts/{alert_id}/escalate", json=body, headers=MANAGER, status=409)
    assert refused["error"] == "conflict"
    assert "is closed" in refused["message"]
    assert await pending(alert_id, 4) == []


async def test_escalate_an_unknown_alert_is_404(client: Client) -> None:
    body = {"escalate_to": 2, "escalate_reason": "x"}
    refused = await call(client, "POST", "/api/alerts/424242/escalate", json=body, headers=MANAGER, status=404)
    assert (refused["error"], refused["message"]) == ("not_found", "alert 424242 does not exist")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"escalate_to": 5, "escalate_reason": "x"}, "escalate_to:"),
        ({"escalate_to": 1, "escalate_reason": "x"}, "escalate_to:"),
        ({"escalate_to": "3", "escalate_reason": "x"}, "escalate_to:"),
        ({"escalate_to": 3}, "escalate_reason: is required"),
        ({"escalate_to": 3, "escalate_reason": "x", "notify": False}, "notify:"),
    ],
)
async def test_escalate_rejects_bad_bodies(client: Client, body: dict[str, Any], words: str) -> None:
    alert_id = await open_alert(client)
    refused = await call(client, "POST", f"/api/alerts/{alert_id}/escalate", json=body, headers=MANAGER, status=400)
    assert refused["error"] == "invalid_request"
    assert words in refused["message"]
    assert (await call(client, "GET", f"/api/alerts/{alert_id}"))["data"]["level"] == 1


# -- auth ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/alerts", None),
        ("GET", "/api/alerts/{id}", None),
        ("GET", "/api/alert-levels", None),
        ("POST", "/api/alerts/{id}/cancel", {"cancel_reason": "x"}),
        ("POST", "/api/alerts/{id}/escalate", {"escalate_to": 2, "escalate_reason": "x"}),
    ],
)
async def test_every_alert_route_needs_a_token(client: Client, method: str, path: str, body: Any) -> None:
    alert_id = await open_alert(client)
    refused = await call(client, method, path.format(id=alert_id), headers={}, json=body, status=401)
    assert (refused["code"], refused["error"], refused["data"]) == (401, "unauthorized", None)
    detail = (await call(client, "GET", f"/api/alerts/{alert_id}"))["data"]
    assert (detail["status"], detail["level"]) == ("open", 1)
