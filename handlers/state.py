"""What the pipeline knows about a conversation while it works through a batch of its messages.

Loaded once per chunk, in the chunk's transaction (three small queries), and kept current by the steps:
the takeover step pauses the bot here (written with the chunk), the alert step adds and removes open
alerts, the task step notes an opened task, and every processed message joins the recent context. A
step then answers "is anything open about this user?" from memory, and asks the database only when
there is something to change.

The recent context (the conversation's last messages, with their types) is read once per batch: the
messages before the batch are processed and do not change, and the batch's own messages are added
here in order as they are classified.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.commands.service import RobotView
from bot.rules.people import Directory
from bot.understanding.engine import Classification, ContextMessage
from bot.understanding.intervention import STAFF_ROLES
from models.alerts import AlertStatus
from models.conversations import Conversation
from models.messages import InboundMessage
from models.tasks import OPEN_TASK_STATUSES, TaskStatus, UserResponse

CONTEXT_MESSAGES: Final = 12
CONTEXT_WINDOW: Final = timedelta(hours=2)


@dataclass
class Room:
    """The conversation as the steps read it (and the takeover step changes it)."""

    id: int
    kind: str  # group | private
    name: str
    bot_paused_until: datetime | None
    paused_by: str | None


@dataclass(frozen=True)
class OpenAlert:
    id: int
    kind: str
    subject: str


@dataclass(frozen=True)
class OpenTask:
    """What decides whether a message touches an open task (bot/tasks/watch.py does the rest)."""

    user: str
    awaits_user: bool  # waiting for the user's answer
    awaits_follow_up: bool  # assigned, and staff have not written since

    def touched_by(self, sender: str, role: str, mentioned: Iterable[str]) -> bool:
        if role == "user":
            return self.awaits_user and sender == self.user
        if role in STAFF_ROLES:
            return self.awaits_follow_up or self.user in mentioned
        return False


@dataclass
class ConversationState:
    conversation: Room | None = None
    recent: deque[ContextMessage] = field(default_factory=lambda: deque(maxlen=CONTEXT_MESSAGES))
    open_alerts: dict[int, OpenAlert] = field(default_factory=dict)  # by id, oldest first
    open_tasks: list[OpenTask] = field(default_factory=list)
    paused: bool = False  # the takeover step paused the bot: written with the chunk
    robots: RobotView | None = None  # robot selection's inputs, read at the chunk's first reply

    @classmethod
    def empty(cls) -> ConversationState:
        return cls()

    # -- the recent context ------------------------------------------------------------------------

    def context(self, before: datetime) -> tuple[ContextMessage, ...]:
        """The recent messages within the context window before `before` (oldest first)."""
        since = before - CONTEXT_WINDOW
        return tuple(m for m in self.recent if m.at is None or m.at >= since)

    def remember(self, message: InboundMessage, role: str, classification: Classification | None) -> None:
        kind = classification.type if classification is not None else None
        self.recent.append(ContextMessage(role, message.text, message.sender_name, message.received_at, kind))

    # -- the takeover pause ------------------------------------------------------------------------

    def bot_paused(self, now: datetime) -> bool:
        until = self.conversation.bot_paused_until if self.conversation is not None else None
        return until is not None and until > now

    def pause(self, until: datetime, by: str) -> None:
        if self.conversation is not None:
            self.conversation.bot_paused_until, self.conversation.paused_by = until, by
            self.paused = True

    async def robot_view(self, now: datetime, conn: BaseDBAsyncClient) -> RobotView:
        if self.robots is None:
            self.robots = await RobotView.load(now, conn)
        return self.robots

    # -- open alerts -------------------------------------------------------------------------------

    def newest_open_alert(self) -> str | None:
        """Described as AlertService.open_description does (an open item for a takeover)."""
        if not self.open_alerts:
            return None
        alert = self.open_alerts[max(self.open_alerts)]
        return f"alert #{alert.id} ({alert.kind})"

    def open_about(self, kinds: Iterable[str], subject: str | None = None) -> list[OpenAlert]:
        wanted = set(kinds)
        return [a for a in self.open_alerts.values() if a.kind in wanted and (subject is None or a.subject == subject)]

    def alert_opened(self, alert: OpenAlert) -> None:
        self.open_alerts[alert.id] = alert

    def alerts_closed(self, ids: Iterable[int]) -> None:
        for alert_id in ids:
            self.open_alerts.pop(alert_id, None)


async def recent_context(
    conversation_id: int, first: InboundMessage, directory: Directory, conn: BaseDBAsyncClient
) -> deque[ContextMessage]:
    """The conversation's messages just before `first` (processed in order, so they carry their types)."""
    rows = (
        await InboundMessage.filter(
            conversation_id=conversation_id,
            id__lt=first.id,
            received_at__gte=first.received_at - CONTEXT_WINDOW,
        )
        .using_db(conn)
        .order_by("-id")
        .limit(CONTEXT_MESSAGES)
        .values_list("sender_role", "sender_name", "text", "received_at", "type")
    )
    return deque(
        (
            ContextMessage(role or directory.role_of(sender), text, sender, at, kind)
            for role, sender, text, at, kind in reversed(rows)
        ),
        maxlen=CONTEXT_MESSAGES,
    )


# Read once per chunk: prepared text (the ORM built these three per chunk at ~0.3 ms each), `?` placeholders
# turned into `$1` for PostgreSQL. The status lists are the models' constants.
_ROOM_SQL: Final = 'SELECT "kind", "name", "bot_paused_until", "paused_by" FROM "conversations" WHERE "id" = ?'
_ALERTS_SQL: Final = (
    'SELECT "id", "kind", "subject" FROM "alerts" WHERE "conversation_id" = ? '  # noqa: S608 - constants only
    f'AND "status" = \'{AlertStatus.OPEN.value}\' ORDER BY "id"'
)
_TASKS_SQL: Final = (
    'SELECT "user", "status", "user_response_status", "assigned_at" IS NOT NULL AS "assigned", '  # noqa: S608
    '"staff_follow_up_time" IS NOT NULL AS "followed" FROM "after_sales_tasks" WHERE "conversation_id" = ? '
    f'AND "status" IN ({", ".join(repr(s.value) for s in OPEN_TASK_STATUSES)})'
)


def _sql(conn: BaseDBAsyncClient, text: str) -> str:
    return text if conn.capabilities.dialect == "sqlite" else text.replace("?", "$1")


async def open_tasks(conversation_id: int, conn: BaseDBAsyncClient) -> list[OpenTask]:
    rows = await conn.execute_query_dict(_sql(conn, _TASKS_SQL), [conversation_id])
    return [
        OpenTask(
            str(row["user"]),
            row["status"] == TaskStatus.WAITING_USER and row["user_response_status"] == UserResponse.PENDING,
            bool(row["assigned"]) and not bool(row["followed"]),
        )
        for row in rows
    ]


async def load_state(conversation_id: int, recent: deque[ContextMessage], conn: BaseDBAsyncClient) -> ConversationState:
    """The conversation, its open alerts and its open tasks, read in the chunk's transaction."""
    rooms = await conn.execute_query_dict(_sql(conn, _ROOM_SQL), [conversation_id])
    room = None
    if rooms:
        row = rooms[0]
        paused = _PAUSED_UNTIL.to_python_value(row["bot_paused_until"])
        room = Room(conversation_id, str(row["kind"]), str(row["name"]), paused, row["paused_by"])
    alerts = await conn.execute_query_dict(_sql(conn, _ALERTS_SQL), [conversation_id])
    return ConversationState(
        conversation=room,
        recent=recent,
        open_alerts={int(a["id"]): OpenAlert(int(a["id"]), str(a["kind"]), str(a["subject"])) for a in alerts},
        open_tasks=await open_tasks(conversation_id, conn),
    )


_PAUSED_UNTIL: Final = Conversation._meta.fields_map["bot_paused_until"]
