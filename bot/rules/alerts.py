"""`rules/alerts.yaml`: alert levels (seeded into `alert_levels`), who gets what, and which messages open
which alert kind. The policy is snapshotted on each alert when it opens, so editing the file never
changes an alert already running."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from bot import limits
from bot.rules.loading import load_rule_file
from bot.rules.message_types import _Strict
from bot.rules.shift import Shift

AlertKind = Literal[
    "complaint_unhandled",
    "private_operation",
    "operator_tone_hard",
    "user_refused",
    "user_no_response",
    "task_overdue",
    "robot_offline",
    "robot_unhealthy",
    "command_failed",
    "report_undelivered",
]
ALERT_KINDS: Final[tuple[str, ...]] = AlertKind.__args__  # type: ignore[attr-defined]
ChannelName = Literal["wecom_app", "wecom_webhook", "worktool_group", "group_reminder", "phone", "sms"]
# Channels that message each recipient (one notification row per person); the others post once to a
# shared target (a group) and @ the recipients there.
PERSONAL_CHANNELS: Final = frozenset({"wecom_app", "phone", "sms"})
LOUD_CHANNELS: Final = frozenset({"phone", "sms"})  # held back in quiet hours below the top level
Audience = Literal["responsible", "supervisors", "managers", "escalation_list"]
MAX_LEVEL: Final = 4
PersonName = Annotated[str, Field(max_length=limits.NAME_CHARS)]


class Level(_Strict):
    level: int = Field(ge=1, le=MAX_LEVEL)
    name: str = Field(min_length=1, max_length=limits.LABEL_CHARS)
    after_minutes: float = Field(ge=0, description="reached this long after the alert opened, if still open")
    channels: tuple[ChannelName, ...] = Field(min_length=1)
    recipients: tuple[Audience, ...] = Field(min_length=1)


class KindPolicy(_Strict):
    title: str = Field(min_length=1, max_length=limits.LABEL_CHARS)
    start_level: int = Field(default=1, ge=1, le=MAX_LEVEL)
    responsible: Literal["staff_on_duty", "managers"] = "staff_on_duty"
    exclude_channels: tuple[ChannelName, ...] = ()


DEFAULT_LEVELS: Final = (
    Level(level=1, name="信息告警", after_minutes=0, channels=("wecom_app",), recipients=("responsible",)),
    Level(
        level=2,
        name="警告告警",
        after_minutes=30,
        channels=("wecom_app", "group_reminder"),
        recipients=("responsible", "supervisors"),
    ),
    Level(
        level=3,
        name="严重告警",
        after_minutes=60,
        channels=("wecom_app", "phone"),
        recipients=("responsible", "supervisors", "managers"),
    ),
    Level(
        level=4,
        name="紧急告警",
        after_minutes=90,
        channels=("wecom_app", "phone", "sms"),
        recipients=("escalation_list", "managers"),
    ),
)
DEFAULT_KINDS: Final[dict[str, KindPolicy]] = {
    "complaint_unhandled": KindPolicy(title="投诉未处理"),
    "private_operation": KindPolicy(title="私下操作"),
    "operator_tone_hard": KindPolicy(title="运营语气强硬"),
    "user_refused": KindPolicy(title="号主拒绝配合"),
    "user_no_response": KindPolicy(title="号主未响应"),
    "task_overdue": KindPolicy(title="售后任务超时"),
    "robot_offline": KindPolicy(title="机器人离线", start_level=2, responsible="managers"),
    "robot_unhealthy": KindPolicy(title="机器人异常", responsible="managers"),
    "command_failed": KindPolicy(
        title="机器人消息发送失败", responsible="managers", exclude_channels=("worktool_group", "group_reminder")
    ),
    "report_undelivered": KindPolicy(title="每日报告未送达", responsible="managers"),
}


class AlertsFile(_Strict):
    """Every key has the DESIGN §3.4 default, so a rules directory without alerts.yaml still works."""

    levels: tuple[Level, ...] = Field(default=DEFAULT_LEVELS, min_length=MAX_LEVEL, max_length=MAX_LEVEL)
    supervisors: tuple[PersonName, ...] = ()
    escalation_list: tuple[PersonName, ...] = ()
    quiet_hours: Shift | None = None  # phone and SMS below the top level are skipped for a person in these hours
    max_age_hours: float = Field(default=24, gt=0)
    # A recurrence within this of the previous one is counted but does not raise the level (a burst of
    # angry messages is one complaint, not a reason to phone the manager).
    recurrence_cooldown_minutes: float = Field(default=5, ge=0)
    fallback: dict[ChannelName, tuple[ChannelName, ...]] = Field(default_factory=dict)
    kinds: dict[AlertKind, KindPolicy] = Field(default_factory=lambda: dict(DEFAULT_KINDS))  # type: ignore[arg-type]
    open_for_types: dict[str, AlertKind] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]
            "chat_complaint": "complaint_unhandled",
            "chat_private_operation": "private_operation",
            "operator_tone_hard": "operator_tone_hard",
        },
        description="message type -> the alert a needs_staff_now message of it opens",
    )
    robot_offline_after_s: float = Field(default=120, ge=0)  # a robot offline this long opens robot_offline
    refusal_kind: AlertKind = "user_refused"

    @model_validator(mode="after")
    def _consistent(self) -> AlertsFile:
        numbers = [level.level for level in self.levels]
        if numbers != list(range(1, MAX_LEVEL + 1)):
            raise ValueError(f"levels must be 1..{MAX_LEVEL} in order, got {numbers}")
        offsets = [level.after_minutes for level in self.levels]
        if offsets[0] != 0 or offsets != sorted(offsets):
            raise ValueError(f"after_minutes must start at 0 and never decrease, got {offsets}")
        missing = sorted(set(ALERT_KINDS) - set(self.kinds))
        if missing:
            raise ValueError(f"kinds: no policy for {missing}")
        for channel, chain in self.fallback.items():
            if channel in chain:
                raise ValueError(f"fallback.{channel} falls back to itself")
        return self

    def level(self, number: int) -> Level:
        return self.levels[number - 1]


def load_alerts(path: Path) -> AlertsFile:
    return load_rule_file(path, AlertsFile) if path.exists() else AlertsFile()
