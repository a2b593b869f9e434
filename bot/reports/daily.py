"""The daily after-sales report's figures (DESIGN §3.8): a pure `summarise` over plain rows, and
`compute_daily`, which loads the rows of one business day and calls it.

A day is a day of the business time zone (`settings.timezone`): the window is [local 00:00, next local
00:00), and every figure below is about that window. "In the window" means `start <= t < end`.

Tasks
- `created`: tasks whose `created_at` is in the window.
- `completed`: tasks whose `completed_at` is in the window (whatever day they were created).
- `cancelled`: tasks whose `cancelled_at` is in the window.
- `open`: tasks open at the end of the day: `created_at < end`, and neither `completed_at` nor
  `cancelled_at` before `end`. Rebuilt from the timestamps, so re-running a past day gives the same
  number whatever happened to the tasks since.
- `overdue`: of the `open` tasks, those open for `overdue_hours` or more at the end of the day
  (`end - created_at >= overdue_hours`; the assignment rules' `overdue_hours`, as the task service's
  `task_overdue` alert counts it).
- `created_and_completed`: tasks created in the window and completed before its end.
- `completion_rate_pct`: `created_and_completed / created * 100`, one decimal; null without tasks created.
- `avg_assignment_s`: over the tasks created in the window and assigned before its end, the mean of
  `assigned_at - created_at` (`assigned_at` as stored: the latest assignment).
- `avg_user_response_s`: over the tasks created in the window with a `user_response_s`, its mean (from the
  @ to the user's answer).
- `avg_completion_s`: over the tasks completed in the window, the mean of `completed_at - created_at`.

Staff (one row per `assignee` with something to show, most assigned first)
- `assigned`: tasks with this assignee whose `assigned_at` is in the window.
- `completed` / `open` / `avg_completion_s`: as above, restricted to the tasks with this assignee.
- `avg_follow_up_s`: over the tasks assigned to them in the window that have a `staff_follow_up_time`
  (the first staff message after the assignment), the mean of `staff_follow_up_time - assigned_at`
  (`created_at` for a task without `assigned_at`).

Distributions over the tasks created in the window, as stored when the report is made:
- `cooperation`: counts per `user_cooperation_level` (high / medium / low / unknown).
- `user_response`: counts per `user_response_status` (responded / refused / timeout / pending).

Alerts opened in the window (`opened_at`):
- `opened`, `by_kind` (kind → count, most first), `by_max_level` ("1".."4" → count of alerts whose highest
  level reached, `max_level` as stored when the report is made, is that level).
- `by_outcome`: alerts cancelled before the end of the day counted under their `cancel_reason`; the rest
  under `open` (still open at the end of the day).

Robots (every robot row, plus any robot id found on the day's commands)
- `online`: the robot's state as stored when the report is made (null: never known).
- `commands`: the commands created in the window, by their status now; `commands_total` their number.
- `avg_time_cost_s`: mean WorkTool `timeCost` of those commands that have one.
- `unknown_results_total`: the robot's running count of commands whose result never came (all time).

Top conversations by complaints: messages of type `chat_complaint` received in the window, per
conversation; the 5 with most (ties: lower conversation id first), with the conversation's name.

Averages are in seconds with one decimal, null when nothing was measured.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean
from typing import Final, TypedDict
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Count

from models.alerts import Alert, CancelReason
from models.commands import Command, CommandStatus
from models.conversations import Conversation
from models.messages import InboundMessage
from models.robots import Robot
from models.tasks import AfterSalesTask, Cooperation, UserResponse

DEFAULT_OVERDUE_HOURS: Final = 24.0
TOP_COMPLAINTS: Final = 5
LEVELS: Final = ("1", "2", "3", "4")
OUTCOMES: Final = (*(reason.value for reason in CancelReason), "open")
COMPLAINT_TYPE: Final = "chat_complaint"
RESPONSES: Final = ("responded", "refused", "timeout", "pending")


# -- plain rows (what the loader reads; tests write them by hand) --------------------------------------


@dataclass(frozen=True)
class TaskRow:
    id: int
    created_at: datetime
    assignee: str | None = None
    assigned_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    user_response_status: str = UserResponse.PENDING.value
    user_response_s: float | None = None
    cooperation: str = Cooperation.UNKNOWN.value
    staff_follow_up_time: datetime | None = None

    def open_at(self, moment: datetime) -> bool:
        """Created before `moment` and neither completed nor cancelled before it."""
        closed = [t for t in (self.completed_at, self.cancelled_at) if t is not None]
        return self.created_at < moment and not any(t < moment for t in closed)


@dataclass(frozen=True)
class AlertRow:
    kind: str
    max_level: int
    opened_at: datetime
    cancel_reason: str | None = None
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class CommandRow:
    robot_id: str
    status: str
    time_cost_s: float | None = None


@dataclass(frozen=True)
class RobotRow:
    id: str
    name: str
    online: bool | None = None
    unknown_results: int = 0


@dataclass(frozen=True)
class ComplaintCount:
    conversation_id: int
    name: str
    complaints: int


# -- the figures (stored as DailyReport.data["figures"], served by the API) --------------------------


class TaskFigures(TypedDict):
    created: int
    completed: int
    cancelled: int
    open: int
    overdue: int
    created_and_completed: int
    completion_rate_pct: float | None
    avg_assignment_s: float | None
    avg_user_response_s: float | None
    avg_completion_s: float | None


class StaffFigures(TypedDict):
    name: str
    assigned: int
    completed: int
    open: int
    avg_completion_s: float | None
    avg_follow_up_s: float | None


class AlertFigures(TypedDict):
    opened: int
    by_kind: dict[str, int]
    by_max_level: dict[str, int]
    by_outcome: dict[str, int]


class RobotFigures(TypedDict):
    id: str
    name: str
    online: bool | None
    commands: dict[str, int]
    commands_total: int
    avg_time_cost_s: float | None
    unknown_results_total: int


class ComplaintFigures(TypedDict):
    conversation_id: int
    name: str
    complaints: int


class DailyFigures(TypedDict):
    day: str
    timezone: str
    start: str
    end: str
    overdue_hours: float
    tasks: TaskFigures
    staff: list[StaffFigures]
    cooperation: dict[str, int]
    user_response: dict[str, int]
    alerts: AlertFigures
    robots: list[RobotFigures]
    top_complaints: list[ComplaintFigures]


# -- the pure core ----------------------------------------------------------------------------------


def day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of `day`, in UTC (stored times are UTC; SQLite compares text)."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def mean_s(values: Iterable[float]) -> float | None:
    found = list(values)
    return round(fmean(found), 1) if found else None


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def _counts(values: Iterable[str], keys: Sequence[str]) -> dict[str, int]:
    """Every key of `keys` (zero when absent), then any other value met, in that order."""
    found = Counter(values)
    return {key: found.get(key, 0) for key in keys} | {k: n for k, n in found.items() if k not in keys}


def _task_figures(tasks: Sequence[TaskRow], start: datetime, end: datetime, overdue_hours: float) -> TaskFigures:
    created = [t for t in tasks if _within(t.created_at, start, end)]
    completed = [t for t in tasks if _within(t.completed_at, start, end)]
    still_open = [t for t in tasks if t.open_at(end)]
    overdue = timedelta(hours=overdue_hours)
    done_same_day = [t for t in created if t.completed_at is not None and t.completed_at < end]
    assigned = [t for t in created if t.assigned_at is not None and t.assigned_at < end]
    return {
        "created": len(created),
        "completed": len(completed),
        "cancelled": sum(_within(t.cancelled_at, start, end) for t in tasks),
        "open": len(still_open),
        "overdue": sum(end - t.created_at >= overdue for t in still_open),
        "created_and_completed": len(done_same_day),
        "completion_rate_pct": percent(len(done_same_day), len(created)),
        "avg_assignment_s": mean_s(_seconds(t.assigned_at, t.created_at) for t in assigned if t.assigned_at),
        "avg_user_response_s": mean_s(t.user_response_s for t in created if t.user_response_s is not None),
        "avg_completion_s": mean_s(_seconds(t.completed_at, t.created_at) for t in completed if t.completed_at),
    }


def _staff_figures(tasks: Sequence[TaskRow], start: datetime, end: datetime) -> list[StaffFigures]:
    names = sorted({t.assignee for t in tasks if t.assignee})
    rows: list[StaffFigures] = []
    for name in names:
        mine = [t for t in tasks if t.assignee == name]
        assigned = [t for t in mine if _within(t.assigned_at, start, end)]
        completed = [t for t in mine if _within(t.completed_at, start, end)]
        row: StaffFigures = {
            "name": name,
            "assigned": len(assigned),
            "completed": len(completed),
            "open": sum(t.open_at(end) for t in mine),
            "avg_completion_s": mean_s(_seconds(t.completed_at, t.created_at) for t in completed if t.completed_at),
            "avg_follow_up_s": mean_s(
                _seconds(t.staff_follow_up_time, t.assigned_at or t.created_at)
                for t in assigned
                if t.staff_follow_up_time is not None
            ),
        }
        if row["assigned"] or row["completed"] or row["open"]:
            rows.append(row)
    rows.sort(key=lambda r: (-r["assigned"], -r["completed"], -r["open"], r["name"]))
    return rows


def _alert_figures(alerts: Sequence[AlertRow], start: datetime, end: datetime) -> AlertFigures:
    opened = [a for a in alerts if _within(a.opened_at, start, end)]
    kinds = Counter(a.kind for a in opened)
    outcomes = (
        a.cancel_reason if a.cancel_reason and a.cancelled_at is not None and a.cancelled_at < end else "open"
        for a in opened
    )
    return {
        "opened": len(opened),
        "by_kind": dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_max_level": _counts((str(a.max_level) for a in opened), LEVELS),
        "by_outcome": _counts(outcomes, OUTCOMES),
    }


def _robot_figures(robots: Sequence[RobotRow], commands: Sequence[CommandRow]) -> list[RobotFigures]:
    known = {r.id: r for r in robots}
    ids = sorted(set(known) | {c.robot_id for c in commands})
    statuses = tuple(s.value for s in CommandStatus)
    rows: list[RobotFigures] = []
    for robot_id in ids:
        robot = known.get(robot_id)
        mine = [c for c in commands if c.robot_id == robot_id]
        rows.append(
            {
                "id": robot_id,
                "name": robot.name if robot else robot_id,
                "online": robot.online if robot else None,
                "commands": _counts((c.status for c in mine), statuses),
                "commands_total": len(mine),
                "avg_time_cost_s": mean_s(c.time_cost_s for c in mine if c.time_cost_s is not None),
                "unknown_results_total": robot.unknown_results if robot else 0,
            }
        )
    return rows


def summarise(
    day: date,
    tz: ZoneInfo,
    *,
    tasks: Sequence[TaskRow] = (),
    alerts: Sequence[AlertRow] = (),
    commands: Sequence[CommandRow] = (),
    robots: Sequence[RobotRow] = (),
    complaints: Sequence[ComplaintCount] = (),
    overdue_hours: float = DEFAULT_OVERDUE_HOURS,
) -> DailyFigures:
    """The report's figures for `day` from plain rows (see the module docstring for each definition).

    `tasks` may hold any tasks: those irrelevant to the day count nowhere. `commands` must be the day's
    commands (created in the window) and `complaints` the day's complaint counts per conversation."""
    start, end = day_window(day, tz)
    created = [t for t in tasks if _within(t.created_at, start, end)]
    top = sorted(complaints, key=lambda c: (-c.complaints, c.conversation_id))[:TOP_COMPLAINTS]
    return {
        "day": day.isoformat(),
        "timezone": tz.key,
        "start": start.astimezone(tz).isoformat(),
        "end": end.astimezone(tz).isoformat(),
        "overdue_hours": overdue_hours,
        "tasks": _task_figures(tasks, start, end, overdue_hours),
        "staff": _staff_figures(tasks, start, end),
        "cooperation": _counts((t.cooperation for t in created), [c.value for c in Cooperation]),
        "user_response": _counts((t.user_response_status for t in created), RESPONSES),
        "alerts": _alert_figures(alerts, start, end),
        "robots": _robot_figures(robots, commands),
        "top_complaints": [
            {"conversation_id": c.conversation_id, "name": c.name, "complaints": c.complaints} for c in top
        ],
    }


# -- loading one day's rows ------------------------------------------------------------------------


async def load_tasks(start: datetime, end: datetime, conn: BaseDBAsyncClient | None = None) -> list[TaskRow]:
    """Every task that was alive at some moment of [start, end): created before the end and not closed
    before the start (the open ones of past weeks included: they count as open and maybe overdue)."""
    alive = (
        Q(created_at__lt=end)
        & (Q(completed_at__isnull=True) | Q(completed_at__gte=start))
        & (Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=start))
    )
    rows = await (
        AfterSalesTask.filter(alive)
        .using_db(conn)
        .values_list(
            "id",
            "created_at",
            "assignee",
            "assigned_at",
            "completed_at",
            "cancelled_at",
            "user_response_status",
            "user_response_s",
            "user_cooperation_level",
            "staff_follow_up_time",
        )
    )
    return [
        TaskRow(
            id=int(r[0]),
            created_at=r[1],
            assignee=r[2],
            assigned_at=r[3],
            completed_at=r[4],
            cancelled_at=r[5],
            user_response_status=str(r[6]),
            user_response_s=r[7],
            cooperation=str(r[8]),
            staff_follow_up_time=r[9],
        )
        for r in rows
    ]


async def load_alerts(
    start: datetime, end: datetime, conn: BaseDBAsyncClient | None = None, *, conversation_id: int | None = None
) -> list[AlertRow]:
    """Alerts opened in [start, end) (of one conversation when `conversation_id` is given)."""
    query = Alert.filter(opened_at__gte=start, opened_at__lt=end)
    if conversation_id is not None:
        query = query.filter(conversation_id=conversation_id)
    rows = await query.using_db(conn).values_list("kind", "max_level", "opened_at", "cancel_reason", "cancelled_at")
    return [
        AlertRow(str(kind), int(level), opened, str(reason) if reason is not None else None, cancelled)
        for kind, level, opened, reason, cancelled in rows
    ]


async def load_commands(start: datetime, end: datetime, conn: BaseDBAsyncClient | None = None) -> list[CommandRow]:
    rows = await (
        Command.filter(created_at__gte=start, created_at__lt=end)
        .using_db(conn)
        .values_list("robot_id", "status", "time_cost_s")
    )
    return [CommandRow(str(robot_id), str(status), cost) for robot_id, status, cost in rows]


async def load_robots(conn: BaseDBAsyncClient | None = None) -> list[RobotRow]:
    rows = await Robot.all().using_db(conn).values_list("id", "name", "online", "unknown_results")
    return [RobotRow(str(i), str(name), online, int(unknown)) for i, name, online, unknown in rows]


async def load_complaints(
    start: datetime, end: datetime, conn: BaseDBAsyncClient | None = None, *, conversation_id: int | None = None
) -> list[ComplaintCount]:
    query = InboundMessage.filter(type=COMPLAINT_TYPE, received_at__gte=start, received_at__lt=end)
    if conversation_id is not None:
        query = query.filter(conversation_id=conversation_id)
    counts = await (
        query.using_db(conn).group_by("conversation_id").annotate(n=Count("id")).values_list("conversation_id", "n")
    )
    if not counts:
        return []
    ids = [int(c) for c, _ in counts]
    names = dict(await Conversation.filter(id__in=ids).using_db(conn).values_list("id", "name"))
    return [ComplaintCount(int(c), str(names.get(c, f"#{c}")), int(n)) for c, n in counts]


async def compute_daily(
    day: date,
    tz: ZoneInfo,
    *,
    overdue_hours: float = DEFAULT_OVERDUE_HOURS,
    conn: BaseDBAsyncClient | None = None,
) -> DailyFigures:
    """The figures of the business day `day` (in `tz`), read from the database."""
    start, end = day_window(day, tz)
    return summarise(
        day,
        tz,
        tasks=await load_tasks(start, end, conn),
        alerts=await load_alerts(start, end, conn),
        commands=await load_commands(start, end, conn),
        robots=await load_robots(conn),
        complaints=await load_complaints(start, end, conn),
        overdue_hours=overdue_hours,
    )
