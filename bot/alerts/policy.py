"""Escalation maths, pure: a policy snapshot, when the next step is due, who gets what at a level.

Nothing here touches the database or the clock; every function takes `now` and returns a decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.rules.alerts import LOUD_CHANNELS, MAX_LEVEL, PERSONAL_CHANNELS, AlertsFile
from bot.rules.people import Directory, PersonRule
from bot.rules.shift import Shift


@dataclass(frozen=True)
class LevelPolicy:
    level: int
    name: str
    after_minutes: float
    channels: tuple[str, ...]
    recipients: tuple[str, ...]  # people's names, resolved when the alert opened


@dataclass(frozen=True)
class Policy:
    """What an alert was opened with (stored as JSON on the alert, so rule edits never change it)."""

    kind: str
    title: str
    levels: tuple[LevelPolicy, ...]
    max_age_hours: float
    fallback: dict[str, tuple[str, ...]]
    quiet_hours: dict[str, Any] | None  # a Shift as JSON

    def level(self, number: int) -> LevelPolicy:
        return self.levels[max(1, min(number, MAX_LEVEL)) - 1]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "levels": [
                {
                    "level": lv.level,
                    "name": lv.name,
                    "after_minutes": lv.after_minutes,
                    "channels": list(lv.channels),
                    "recipients": list(lv.recipients),
                }
                for lv in self.levels
            ],
            "max_age_hours": self.max_age_hours,
            "fallback": {k: list(v) for k, v in self.fallback.items()},
            "quiet_hours": self.quiet_hours,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Policy:
        levels = tuple(
            LevelPolicy(
                int(lv["level"]),
                str(lv["name"]),
                float(lv["after_minutes"]),
                tuple(lv["channels"]),
                tuple(lv["recipients"]),
            )
            for lv in data["levels"]
        )
        fallback = {str(k): tuple(v) for k, v in dict(data.get("fallback") or {}).items()}
        return cls(
            str(data["kind"]),
            str(data["title"]),
            levels,
            float(data["max_age_hours"]),
            fallback,
            data.get("quiet_hours"),
        )


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for name in names if name))


def on_duty(directory: Directory, role: str, local: datetime) -> tuple[str, ...]:
    people = {p.name: p for p in directory.people.values() if p.role == role}
    return tuple(name for name in sorted(people) if people[name].shift.covers(local))


def people_with_role(directory: Directory, role: str) -> tuple[str, ...]:
    return tuple(sorted({p.name for p in directory.people.values() if p.role == role}))


def snapshot(rules: AlertsFile, kind: str, directory: Directory, now: datetime, tz: ZoneInfo) -> Policy:
    """The policy for a new alert of `kind`, with every audience resolved to names as of `now`."""
    policy = rules.kinds[kind]  # type: ignore[index]
    managers = people_with_role(directory, "manager")
    if policy.responsible == "managers":
        responsible = managers
    else:
        # Whoever is on shift; nobody on shift (night): the supervisors, then the managers.
        responsible = on_duty(directory, "staff", now.astimezone(tz)) or tuple(rules.supervisors) or managers
    audiences = {
        "responsible": responsible,
        "supervisors": tuple(rules.supervisors),
        "managers": managers,
        "escalation_list": tuple(rules.escalation_list),
    }
    levels = tuple(
        LevelPolicy(
            lv.level,
            lv.name,
            lv.after_minutes,
            tuple(c for c in lv.channels if c not in policy.exclude_channels),
            _unique(name for audience in lv.recipients for name in audiences[audience]),
        )
        for lv in rules.levels
    )
    fallback: dict[str, tuple[str, ...]] = {
        str(channel): tuple(c for c in chain if c not in policy.exclude_channels)
        for channel, chain in rules.fallback.items()
    }
    quiet = rules.quiet_hours.model_dump(mode="json") if rules.quiet_hours is not None else None
    return Policy(kind, policy.title, levels, rules.max_age_hours, fallback, quiet)


@dataclass(frozen=True)
class Step:
    action: Literal["escalate", "expire", "wait"]
    level: int  # the level after the step
    next_due: datetime | None  # when the following step is due (None: nothing more)


def expires_at(policy: Policy, opened_at: datetime) -> datetime:
    return opened_at + timedelta(hours=policy.max_age_hours)


def next_due(policy: Policy, opened_at: datetime, level: int) -> datetime:
    """When an alert at `level` takes its next step: the next level's offset, or expiry at the top."""
    expiry = expires_at(policy, opened_at)
    if level >= MAX_LEVEL:
        return expiry
    return min(opened_at + timedelta(minutes=policy.level(level + 1).after_minutes), expiry)


def plan_step(policy: Policy, opened_at: datetime, level: int, now: datetime) -> Step:
    """What a due step does. Offsets count from the opening; a recurrence may have moved the level on."""
    if now >= expires_at(policy, opened_at):
        return Step("expire", level, None)
    if level >= MAX_LEVEL:
        return Step("wait", level, expires_at(policy, opened_at))
    due = next_due(policy, opened_at, level)
    if now < due:
        return Step("wait", level, due)
    return Step("escalate", level + 1, next_due(policy, opened_at, level + 1))


@dataclass(frozen=True)
class Planned:
    channel: str
    recipient: str
    skipped: str | None = None  # why it will not be sent (quiet hours)


def in_quiet_hours(person: PersonRule | None, policy: Policy, local: datetime) -> bool:
    if person is not None and person.quiet_hours is not None:
        return person.quiet_hours.covers(local)
    if policy.quiet_hours is None:
        return False
    return Shift.model_validate(policy.quiet_hours).covers(local)


def plan_level(policy: Policy, level: int, directory: Directory, local: datetime) -> list[Planned]:
    """One row per channel and recipient of the level; calls and SMS in quiet hours are skipped below
    the top level."""
    lv = policy.level(level)
    planned: list[Planned] = []
    for channel in lv.channels:
        for name in lv.recipients:
            skipped = None
            if channel in LOUD_CHANNELS and level < MAX_LEVEL and in_quiet_hours(directory.person(name), policy, local):
                skipped = "quiet hours"
            planned.append(Planned(channel, name, skipped))
    return planned


def next_fallback(policy: Policy, origin: str, failed: str) -> str | None:
    """The channel to try after `failed`, in the chain of the row's original channel."""
    chain = policy.fallback.get(origin, ())
    if failed == origin:
        return chain[0] if chain else None
    if failed in chain:
        rest = chain[chain.index(failed) + 1 :]
        return rest[0] if rest else None
    return None


def target_of(channel: str, recipient: str, conversation_id: int | None, managers_group: str | None) -> str:
    """What one message goes to: rows with the same channel and target are sent together."""
    if channel in PERSONAL_CHANNELS:
        return recipient
    if channel == "group_reminder":
        return f"conv:{conversation_id}" if conversation_id is not None else "conv:none"
    if channel == "worktool_group":
        return f"group:{managers_group or ''}"
    return channel  # wecom_webhook: the one configured group robot
