"""The collaboration analysis (DESIGN §3.8) of one conversation or of all, over [start, end): a pure
`collaborate` over plain rows, and `analyse`, which loads them.

"In the window" means `start <= t < end`; states (task completed, alert cancelled) are taken as they
were at `end`, from their timestamps, so a past window always gives the same figures. "Staff side"
means a sender whose role is staff, operator or manager (`InboundMessage.sender_role`).

1. Staff activity (`staff_activity`), one row per staff-side sender name with messages in the window:
   - `messages`: their messages received in the window; `conversations`: distinct conversations of those.
   - `takeovers`: those of their messages whose intervention case is `staff_took_over`.
   - `replies` / `avg_reply_latency_s`: a staff-side message *replies* when it is the first staff-side
     message of its conversation after a user message, and that user message (the latest one before it,
     which may lie up to 2 h before the window) is at most 2 h older; its latency is the time between the
     two. Later staff messages before the user speaks again are follow-ups, not replies.
   - totals: `messages`, `takeovers`, and `avg_reply_latency_s` over every reply.
2. User satisfaction (`user_satisfaction`):
   - `user_messages`: messages of senders with role `user` in the window; `complaint_messages`: those of
     type `chat_complaint`; `complaint_share_pct` = complaint_messages / user_messages * 100.
   - `refusals`: `user_refused` alerts opened in the window.
   - `cooperation`: tasks created in the window per `user_cooperation_level` (as stored now).
3. Human intervention (`human_intervention`):
   - `by_case`: messages in the window per intervention case (the 4 cases, then anything else; messages
     not yet processed are counted under `unprocessed`).
   - `alerts_by_kind`: alerts opened in the window per kind.
   - `needs_staff_now`: alerts opened in the window of the kinds a needs_staff_now message opens
     (complaint_unhandled, private_operation, operator_tone_hard, user_refused): `handled_by_staff` =
     cancelled before `end` as `staff_intervened` or `manual`; `expired` = cancelled as `expired`;
     `resolved_otherwise` = cancelled as `user_responded` or `resolved`; `open` = not cancelled before
     `end`; `handled_share_pct` and `expired_share_pct` of `alerts`.
4. Collaboration effect (`collaboration_effect`):
   - `bot_handled`: user messages in the window judged `no_staff_needed` that the bot answered (a
     command of purpose `reply` queued for the message); `staff_handled`: messages in the window judged
     `staff_took_over`; `bot_share_pct` = bot_handled / (bot_handled + staff_handled) * 100.
   - `tasks_created` in the window, `tasks_completed` of those before `end`,
     `task_resolution_pct` = tasks_completed / tasks_created * 100.
   - `alerts_opened` in the window: `alerts_resolved` (cancelled before `end` for any reason but
     `expired`), `alerts_expired`, `alerts_open`; `alert_resolution_pct` = alerts_resolved / alerts_opened.

Percentages have one decimal and are null when their denominator is 0; latencies are seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, TypedDict

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.reports.daily import AlertRow, TaskRow, load_alerts, mean_s, percent
from models.alerts import CancelReason
from models.commands import Command
from models.messages import InboundMessage
from models.tasks import AfterSalesTask, Cooperation

REPLY_WINDOW: Final = timedelta(hours=2)
STAFF_ROLES: Final = frozenset({"staff", "operator", "manager"})
CASES: Final = ("staff_took_over", "needs_staff_now", "needs_after_sales", "no_staff_needed")
NEEDS_STAFF_KINDS: Final = frozenset({"complaint_unhandled", "private_operation", "operator_tone_hard", "user_refused"})
HANDLED: Final = frozenset({CancelReason.STAFF_INTERVENED.value, CancelReason.MANUAL.value})
EXPIRED: Final = CancelReason.EXPIRED.value
REPLY_PREFIX: Final = "reply:"  # handlers/replies.py keys a bot reply by the message it answers


@dataclass(frozen=True)
class MessageRow:
    id: int
    conversation_id: int
    sender_name: str
    received_at: datetime
    sender_role: str | None = None
    type: str | None = None
    intervention_case: str | None = None


class StaffActivity(TypedDict):
    name: str
    role: str
    messages: int
    conversations: int
    takeovers: int
    replies: int
    avg_reply_latency_s: float | None


class StaffTotals(TypedDict):
    people: list[StaffActivity]
    messages: int
    takeovers: int
    replies: int
    avg_reply_latency_s: float | None


class Satisfaction(TypedDict):
    user_messages: int
    complaint_messages: int
    complaint_share_pct: float | None
    refusals: int
    cooperation: dict[str, int]


class NeedsStaff(TypedDict):
    alerts: int
    handled_by_staff: int
    resolved_otherwise: int
    expired: int
    open: int
    handled_share_pct: float | None
    expired_share_pct: float | None


class Intervention(TypedDict):
    by_case: dict[str, int]
    alerts_by_kind: dict[str, int]
    needs_staff_now: NeedsStaff


class Effect(TypedDict):
    bot_handled: int
    staff_handled: int
    bot_share_pct: float | None
    tasks_created: int
    tasks_completed: int
    task_resolution_pct: float | None
    alerts_opened: int
    alerts_resolved: int
    alerts_expired: int
    alerts_open: int
    alert_resolution_pct: float | None


class CollaborationFigures(TypedDict):
    conversation_id: int | None
    start: str
    end: str
    staff_activity: StaffTotals
    user_satisfaction: Satisfaction
    human_intervention: Intervention
    collaboration_effect: Effect


@dataclass
class _Person:
    role: str
    messages: int = 0
    takeovers: int = 0
    conversations: set[int] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)


def _within(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment < end


def _closed_as(alert: AlertRow, end: datetime) -> str | None:
    """The alert's cancel reason if it was cancelled before `end`, else None (open at `end`)."""
    if alert.cancel_reason is not None and alert.cancelled_at is not None and alert.cancelled_at < end:
        return alert.cancel_reason
    return None


def _staff_activity(messages: Sequence[MessageRow], start: datetime, end: datetime) -> StaffTotals:
    people: dict[str, _Person] = {}
    waiting: dict[int, datetime] = {}  # conversation -> the latest user message not yet replied to
    for m in sorted(messages, key=lambda m: (m.conversation_id, m.received_at, m.id)):
        if m.sender_role == "user":
            waiting[m.conversation_id] = m.received_at
            continue
        if m.sender_role not in STAFF_ROLES:
            continue  # our robots, unprocessed messages
        asked = waiting.pop(m.conversation_id, None)
        if not _within(m.received_at, start, end):
            continue
        person = people.setdefault(m.sender_name, _Person(role=str(m.sender_role)))
        person.messages += 1
        person.conversations.add(m.conversation_id)
        person.takeovers += m.intervention_case == "staff_took_over"
        if asked is not None and m.received_at - asked <= REPLY_WINDOW:
            person.latencies.append((m.received_at - asked).total_seconds())
    rows: list[StaffActivity] = [
        {
            "name": name,
            "role": p.role,
            "messages": p.messages,
            "conversations": len(p.conversations),
            "takeovers": p.takeovers,
            "replies": len(p.latencies),
            "avg_reply_latency_s": mean_s(p.latencies),
        }
        for name, p in people.items()
    ]
    rows.sort(key=lambda r: (-r["messages"], r["name"]))
    return {
        "people": rows,
        "messages": sum(p.messages for p in people.values()),
        "takeovers": sum(p.takeovers for p in people.values()),
        "replies": sum(len(p.latencies) for p in people.values()),
        "avg_reply_latency_s": mean_s(x for p in people.values() for x in p.latencies),
    }


def _needs_staff(alerts: Sequence[AlertRow], end: datetime) -> NeedsStaff:
    outcomes = [_closed_as(a, end) for a in alerts if a.kind in NEEDS_STAFF_KINDS]
    handled = sum(o in HANDLED for o in outcomes)
    expired = sum(o == EXPIRED for o in outcomes)
    still_open = sum(o is None for o in outcomes)
    return {
        "alerts": len(outcomes),
        "handled_by_staff": handled,
        "resolved_otherwise": len(outcomes) - handled - expired - still_open,
        "expired": expired,
        "open": still_open,
        "handled_share_pct": percent(handled, len(outcomes)),
        "expired_share_pct": percent(expired, len(outcomes)),
    }


def collaborate(
    start: datetime,
    end: datetime,
    *,
    messages: Sequence[MessageRow] = (),
    bot_replied: frozenset[int] = frozenset(),
    alerts: Sequence[AlertRow] = (),
    tasks: Sequence[TaskRow] = (),
    conversation_id: int | None = None,
) -> CollaborationFigures:
    """The four dimensions from plain rows (see the module docstring). `messages` may include the 2 h
    before `start` (for reply latencies); `bot_replied` holds the ids of messages the bot answered."""
    current = [m for m in messages if _within(m.received_at, start, end)]
    users = [m for m in current if m.sender_role == "user"]
    complaints = sum(m.type == "chat_complaint" for m in users)
    opened = [a for a in alerts if _within(a.opened_at, start, end)]
    created = [t for t in tasks if _within(t.created_at, start, end)]
    completed = sum(t.completed_at is not None and t.completed_at < end for t in created)
    cases = Counter(m.intervention_case or "unprocessed" for m in current)
    bot = sum(m.intervention_case == "no_staff_needed" and m.id in bot_replied for m in users)
    staff = cases.get("staff_took_over", 0)
    outcomes = [_closed_as(a, end) for a in opened]
    expired = sum(o == EXPIRED for o in outcomes)
    still_open = sum(o is None for o in outcomes)
    cooperation = Counter(t.cooperation for t in created)
    kinds = Counter(a.kind for a in opened)
    return {
        "conversation_id": conversation_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "staff_activity": _staff_activity(messages, start, end),
        "user_satisfaction": {
            "user_messages": len(users),
            "complaint_messages": complaints,
            "complaint_share_pct": percent(complaints, len(users)),
            "refusals": kinds.get("user_refused", 0),
            "cooperation": {c.value: cooperation.get(c.value, 0) for c in Cooperation},
        },
        "human_intervention": {
            "by_case": {case: cases.get(case, 0) for case in CASES}
            | {k: n for k, n in cases.items() if k not in CASES},
            "alerts_by_kind": dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
            "needs_staff_now": _needs_staff(opened, end),
        },
        "collaboration_effect": {
            "bot_handled": bot,
            "staff_handled": staff,
            "bot_share_pct": percent(bot, bot + staff),
            "tasks_created": len(created),
            "tasks_completed": completed,
            "task_resolution_pct": percent(completed, len(created)),
            "alerts_opened": len(opened),
            "alerts_resolved": len(opened) - expired - still_open,
            "alerts_expired": expired,
            "alerts_open": still_open,
            "alert_resolution_pct": percent(len(opened) - expired - still_open, len(opened)),
        },
    }


# -- loading ------------------------------------------------------------------------------------------


async def load_messages(
    start: datetime, end: datetime, conversation_id: int | None, conn: BaseDBAsyncClient | None = None
) -> list[MessageRow]:
    query = InboundMessage.filter(received_at__gte=start - REPLY_WINDOW, received_at__lt=end)
    if conversation_id is not None:
        query = query.filter(conversation_id=conversation_id)
    rows = await query.using_db(conn).values_list(
        "id", "conversation_id", "sender_name", "received_at", "sender_role", "type", "intervention_case"
    )
    return [MessageRow(int(r[0]), int(r[1]), str(r[2]), r[3], r[4], r[5], r[6]) for r in rows]


async def load_bot_replied(
    start: datetime, end: datetime, conversation_id: int | None, conn: BaseDBAsyncClient | None = None
) -> frozenset[int]:
    """Ids of the messages the bot queued a reply for, among replies queued from `start` on (a reply is
    queued in its message's processing, so shortly after it: an hour past `end` is ample)."""
    query = Command.filter(purpose="reply", created_at__gte=start, created_at__lt=end + timedelta(hours=1))
    if conversation_id is not None:
        query = query.filter(conversation_id=conversation_id)
    keys = await query.using_db(conn).distinct().values_list("reply_key", flat=True)
    ids = (str(key).removeprefix(REPLY_PREFIX) for key in keys if str(key).startswith(REPLY_PREFIX))
    return frozenset(int(i) for i in ids if i.isdigit())


async def load_created_tasks(
    start: datetime, end: datetime, conversation_id: int | None, conn: BaseDBAsyncClient | None = None
) -> list[TaskRow]:
    query = AfterSalesTask.filter(created_at__gte=start, created_at__lt=end)
    if conversation_id is not None:
        query = query.filter(conversation_id=conversation_id)
    rows = await query.using_db(conn).values_list("id", "created_at", "completed_at", "user_cooperation_level")
    return [TaskRow(id=int(i), created_at=c, completed_at=done, cooperation=str(level)) for i, c, done, level in rows]


async def analyse(
    conversation_id: int | None, start: datetime, end: datetime, conn: BaseDBAsyncClient | None = None
) -> CollaborationFigures:
    """The analysis of one conversation (None: all of them) over [start, end) (aware datetimes)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # stored times are UTC; SQLite compares text
    return collaborate(
        start,
        end,
        messages=await load_messages(start, end, conversation_id, conn),
        bot_replied=await load_bot_replied(start, end, conversation_id, conn),
        alerts=await load_alerts(start, end, conn, conversation_id=conversation_id),
        tasks=await load_created_tasks(start, end, conversation_id, conn),
        conversation_id=conversation_id,
    )
