"""Escalation maths and recipients, pure: the shipped alerts.yaml and people.yaml at fixed times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alerts.policy import Policy, next_fallback, plan_level, plan_step, snapshot, target_of
from bot.rules.alerts import AlertsFile, load_alerts
from bot.rules.loading import RuleFileError, load_rule_file
from bot.rules.people import Directory, load_people
from tests.conftest import REPO

TZ = ZoneInfo("Asia/Shanghai")
RULES = load_alerts(REPO / "rules" / "alerts.yaml")
DIRECTORY = Directory.build(["小助手"], load_people(REPO / "rules" / "people.yaml"))
OPENED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: only 售后小王 is on shift


def policy(kind: str = "complaint_unhandled", at: datetime = OPENED) -> Policy:
    return snapshot(RULES, kind, DIRECTORY, at, TZ)


def test_the_snapshot_resolves_every_audience_to_names() -> None:
    p = policy()
    assert [lv.recipients for lv in p.levels] == [
        ("售后小王",),
        ("售后小王", "售后小李"),
        ("售后小王", "售后小李", "张经理"),
        ("售后小王", "售后小李", "张经理"),
    ]
    assert [lv.after_minutes for lv in p.levels] == [0, 30, 60, 90]
    assert Policy.from_json(p.to_json()) == p  # what is stored on the alert reads back the same


def test_at_night_the_supervisors_are_responsible_and_robot_alerts_go_to_managers() -> None:
    night = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # 01:00 in Shanghai: nobody on shift
    assert policy(at=night).levels[0].recipients == ("售后小李",)
    assert policy("robot_offline").levels[0].recipients == ("张经理",)


def test_command_failed_alerts_never_go_through_the_robots() -> None:
    p = policy("command_failed")
    assert all("group_reminder" not in lv.channels and "worktool_group" not in lv.channels for lv in p.levels)
    assert p.fallback["wecom_app"] == ("wecom_webhook",)


@pytest.mark.parametrize(
    ("level", "minutes", "action", "new_level", "next_minutes"),
    [
        (1, 0, "wait", 1, 30),
        (1, 29.9, "wait", 1, 30),
        (1, 30, "escalate", 2, 60),
        (2, 60, "escalate", 3, 90),
        (3, 90, "escalate", 4, 24 * 60),
        (1, 95, "escalate", 2, 60),  # a late step moves one level; the next is due at once
        (2, 45, "wait", 2, 60),  # a recurrence moved it to 2 at minute 10: level 3 still waits for 60
        (4, 100, "wait", 4, 24 * 60),
        (4, 24 * 60, "expire", 4, None),
        (2, 24 * 60 + 1, "expire", 2, None),
    ],
)
def test_plan_step(level: int, minutes: float, action: str, new_level: int, next_minutes: float | None) -> None:
    step = plan_step(policy(), OPENED, level, OPENED + timedelta(minutes=minutes))
    assert (step.action, step.level) == (action, new_level)
    assert step.next_due == (OPENED + timedelta(minutes=next_minutes) if next_minutes is not None else None)


def test_quiet_hours_hold_back_calls_and_sms_below_the_top_level() -> None:
    night = datetime(2026, 11, 20, 15, 0, tzinfo=UTC).astimezone(TZ)  # 23:00
    day = OPENED.astimezone(TZ)
    p = policy()
    at_night = {(x.channel, x.recipient): x.skipped for x in plan_level(p, 3, DIRECTORY, night)}
    assert at_night[("phone", "张经理")] == "quiet hours"
    assert at_night[("wecom_app", "张经理")] is None
    assert all(x.skipped is None for x in plan_level(p, 4, DIRECTORY, night))  # level 4 always rings
    assert all(x.skipped is None for x in plan_level(p, 3, DIRECTORY, day))


def test_fallback_chains_follow_the_original_channel() -> None:
    p = policy()
    assert next_fallback(p, "wecom_app", "wecom_app") == "wecom_webhook"
    assert next_fallback(p, "wecom_app", "wecom_webhook") == "worktool_group"
    assert next_fallback(p, "wecom_app", "worktool_group") is None
    assert next_fallback(p, "phone", "phone") == "sms"
    assert next_fallback(p, "sms", "sms") is None


def test_targets_group_what_goes_out_as_one_message() -> None:
    assert target_of("wecom_app", "售后小王", 7, None) == "售后小王"
    assert target_of("group_reminder", "售后小王", 7, None) == "conv:7"
    assert target_of("worktool_group", "售后小王", 7, "管理群") == "group:管理群"
    assert target_of("wecom_webhook", "售后小王", 7, None) == "wecom_webhook"


def test_a_broken_alerts_file_names_the_line(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "alerts.yaml"  # type: ignore[operator]
    path.write_text(
        "levels:\n"
        "  - {level: 1, name: a, after_minutes: 0, channels: [wecom_app], recipients: [responsible]}\n"
        "  - {level: 2, name: b, after_minutes: 30, channels: [fax], recipients: [responsible]}\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleFileError) as caught:
        load_rule_file(path, AlertsFile)
    message = str(caught.value)
    assert "alerts.yaml:3: levels.1.channels.0" in message
    assert "levels" in message


def test_levels_must_be_complete_and_in_order() -> None:
    data = RULES.model_dump()
    data["levels"][2]["after_minutes"] = 20
    with pytest.raises(ValueError, match="never decrease"):
        AlertsFile.model_validate(data)
