"""Sending notifications: every due row of one (channel, target) as one message, exactly once.

The rows are claimed (pending → sending, committed) before the request, so a crash can never send them
twice: the sweeper turns a row left `sending` into `unknown`. A provider that surely did not act
(ChannelError.retryable) gets the row back as pending, later; anything else fails the row and opens the
next channel of its fallback chain. Robot channels (a managers' group, a reminder in the conversation)
queue a command in the same transaction that marks the rows sent; the command's outcome marks them
delivered or failed (and a failed alert delivery opens a `command_failed` alert).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

import structlog
from tortoise.expressions import F

from bot import limits
from bot.alerts.channels.base import AlertDigest, Channel, ChannelError, NotConfigured, Recipient, Sent
from bot.alerts.messages import AlertLine, build_digest
from bot.alerts.policy import Policy, next_fallback, target_of
from bot.alerts.ratelimit import SendLimits
from bot.alerts.service import AlertService, AlertSpec, Wakeups
from bot.commands.pacing import OutgoingRefused
from bot.commands.selection import NoRobotAvailable
from bot.commands.service import Commands, ConversationNotFound, OutgoingText
from bot.db import is_write_contention
from bot.metrics import count_notifications
from bot.settings import AlertSettings
from bot.write_lock import write_transaction
from models.alerts import Alert, AlertStatus, CancelReason, Notification, NotificationStatus
from models.commands import Command, CommandStatus
from models.conversations import Conversation
from models.robots import Robot

log = structlog.get_logger(__name__)
ROBOT_CHANNELS: Final = frozenset({"worktool_group", "group_reminder"})
MARK_ATTEMPTS: Final = 20
# Alerts in one message; more go out in the next. A WeCom markdown message holds 2,048 bytes (about six
# alert lines); a call or an SMS only says how many alerts there are, so it can cover any number.
MAX_PER_MESSAGE: Final = 6
MAX_PER_CALL: Final = 500
MAX_ROWS: Final = {"phone": MAX_PER_CALL, "sms": MAX_PER_CALL}


def send_limits(settings: AlertSettings) -> dict[str, tuple[int, float]]:
    """Sends per target and window, per channel (robot channels are paced by the commands layer)."""
    per_callee = settings.voice_per_callee_per_minute
    return {
        "wecom_app": (settings.wecom.per_member_per_minute, 60.0),
        "wecom_webhook": (settings.webhook.per_minute, 60.0),
        "phone": (per_callee, 60.0),
        "sms": (per_callee, 60.0),
    }


class Deliverer:
    def __init__(
        self,
        service: AlertService,
        channels: Mapping[str, Channel],
        limits: SendLimits,
        commands: Commands | None = None,
    ) -> None:
        self.service = service
        self.channels = dict(channels)
        self.limits = limits
        self.commands = commands
        self.settings = service.settings.alerts

    async def deliver(self, channel: str, target: str) -> int:
        """Send the due rows of one target; returns how many rows went out."""
        now = self.service.clock.now()
        most = MAX_ROWS.get(channel, MAX_PER_MESSAGE)
        due = await (
            Notification.filter(channel=channel, target=target, status=NotificationStatus.PENDING, due_at__lte=now)
            .order_by("id")
            .limit(most + 1)
            .values_list("id", flat=True)
        )
        if not due:
            return 0
        ids = [int(i) for i in due[:most]]  # type: ignore[call-overload]
        wait = await self.limits.wait_s(channel, target)
        if wait > 0:
            # The rows stay as they are (re-dating hundreds of held rows on every wake-up cost more than the
            # sends); one job per slot comes back when the limit frees.
            later = now + timedelta(seconds=wait)
            await self.service.schedule(Wakeups(deliveries={(channel, target): later}))
            log.info("alert delivery held by the send limit", channel=channel, target=target, wait_s=round(wait, 1))
            return 0
        batch = uuid.uuid4().hex
        await Notification.filter(id__in=ids, status=NotificationStatus.PENDING).update(
            status=NotificationStatus.SENDING, claimed_at=now, batch=batch, attempts=F("attempts") + 1
        )
        rows = await Notification.filter(batch=batch, status=NotificationStatus.SENDING).order_by("id")
        if len(due) > most:
            await self.service.schedule(Wakeups(deliveries={(channel, target): now}))
        if not rows:
            return 0
        alerts = {a.id: a for a in await Alert.filter(id__in=sorted({r.alert_id for r in rows}))}
        digest = self._digest(rows, alerts, now)
        try:
            if channel in ROBOT_CHANNELS:
                return await self._via_robot(channel, target, rows, alerts, digest=digest, batch=batch, now=now)
            sender = self.channels.get(channel)
            if sender is None:
                raise NotConfigured(f"channel {channel!r} is not available")
            sent = await sender.send(self._recipient(channel, target, rows), digest)
        except ChannelError as exc:
            await self._failed(rows, alerts, exc, now)
            return 0
        await self._mark_sent(batch, sent, now)  # the channel logged the send
        count_notifications(channel, "sent", len(rows))
        return len(rows)

    async def _mark_sent(self, batch: str, sent: Sent, now: datetime, command_id: int | None = None) -> None:
        """The provider took it: record that, insisting through a busy SQLite (the row must not be left
        `sending` — the sweeper would call it unknown)."""
        for attempt in range(MARK_ATTEMPTS):
            try:
                await self._mark_sent_once(batch, sent, now, command_id)
            except Exception as exc:
                if not is_write_contention(exc) or attempt == MARK_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
            else:
                return

    async def _mark_sent_once(self, batch: str, sent: Sent, now: datetime, command_id: int | None) -> None:
        await Notification.filter(batch=batch, status=NotificationStatus.SENDING).update(
            status=NotificationStatus.SENT,
            sent_at=now,
            provider=sent.provider,
            provider_id=(sent.provider_id or "")[: limits.PROVIDER_ID_CHARS] or None,
            command_id=command_id,
            error=None,
        )

    def _recipient(self, channel: str, target: str, rows: list[Notification]) -> Recipient:
        people = [self.service.directory.person(row.recipient) for row in rows]
        phones = tuple(dict.fromkeys(p.phone for p in people if p is not None and p.phone))
        if channel == "wecom_webhook":
            return Recipient(name=target, mentions=phones)
        person = people[0]
        if person is None:
            raise NotConfigured(f"{rows[0].recipient!r} is not in rules/people.yaml")
        return Recipient(name=person.name, wecom_userid=person.wecom_userid, phone=person.phone)

    def _digest(self, rows: list[Notification], alerts: Mapping[int, Alert], now: datetime) -> AlertDigest:
        lines = []
        for alert_id in sorted({row.alert_id for row in rows}):
            alert = alerts[alert_id]
            level = max(row.level for row in rows if row.alert_id == alert_id)
            policy = Policy.from_json(alert.policy)
            lines.append(
                AlertLine(
                    alert_id=alert.id,
                    level=level,
                    level_name=policy.level(level).name,
                    title=policy.title,
                    where=alert.title.removeprefix(policy.title).removeprefix(" · "),
                    subject=alert.subject,
                    detail=alert.detail,
                    opened_at=alert.opened_at,
                    occurrences=alert.occurrences,
                )
            )
        return build_digest(lines, now, self.service.tz)

    async def _via_robot(
        self,
        channel: str,
        target: str,
        rows: list[Notification],
        alerts: Mapping[int, Alert],
        *,
        digest: AlertDigest,
        batch: str,
        now: datetime,
    ) -> int:
        if self.commands is None:
            raise NotConfigured("robot channels need the commands layer (worker only)")
        if channel == "group_reminder":
            conversation_id = alerts[rows[0].alert_id].conversation_id
        else:
            group = self.settings.worktool_group
            if not group:
                raise NotConfigured("alerts.worktool_group is not set")
            found = await Conversation.filter(name=group, kind="group").order_by("id").first()
            if found is None:
                raise NotConfigured(f"our robots have not seen the group {group!r} yet")
            conversation_id = found.id
        if conversation_id is None:
            raise NotConfigured("the alert belongs to no conversation")
        names = tuple(dict.fromkeys(row.recipient for row in rows))
        out = OutgoingText(
            conversation_id=conversation_id,
            text=digest.text,
            reply_key=f"alert:{batch}",
            purpose="alert",
            requested_by="alerts",
            role="alert",
            at_list=names,
        )
        try:
            async with write_transaction("alert via robot") as write:
                conn = write.conn
                queued = await self.commands.send_text(out, conn)
                first = queued.command_ids[0] if queued.command_ids else None
                await (
                    Notification.filter(batch=batch, status=NotificationStatus.SENDING)
                    .using_db(conn)
                    .update(
                        status=NotificationStatus.SENT,
                        sent_at=now,
                        provider="worktool",
                        provider_id=queued.robot_id,
                        command_id=first,
                    )
                )
        except (NoRobotAvailable, OutgoingRefused, ConversationNotFound) as exc:
            raise ChannelError(str(exc), retryable=False, code="no_robot") from exc
        await self.commands.wake(queued.robot_id)
        log.info("alert notification queued for a robot", channel=channel, target=target, command_id=first)
        count_notifications(channel, "sent", len(rows))
        return len(rows)

    async def _failed(
        self, rows: list[Notification], alerts: Mapping[int, Alert], exc: ChannelError, now: datetime
    ) -> None:
        wake = Wakeups()
        error = f"{exc.code + ': ' if exc.code else ''}{exc}"[:2000]
        for row in rows:
            if exc.retryable and row.attempts < self.settings.max_attempts:
                later = now + timedelta(seconds=self.settings.retry_after_s * row.attempts)
                await Notification.filter(id=row.id, status=NotificationStatus.SENDING).update(
                    status=NotificationStatus.PENDING, due_at=later, batch=None, error=error
                )
                wake.deliver(row.channel, row.target, later)
                count_notifications(row.channel, "retrying")
                continue
            await Notification.filter(id=row.id, status=NotificationStatus.SENDING).update(
                status=NotificationStatus.FAILED, finished_at=now, error=error
            )
            count_notifications(row.channel, "failed")
            await self._fall_back(row, alerts.get(row.alert_id), now, wake)
        log.warning(
            "alert notification failed",
            channel=rows[0].channel,
            target=rows[0].target,
            retryable=exc.retryable,
            error=error,
        )
        await self.service.schedule(wake)

    async def _fall_back(self, row: Notification, alert: Alert | None, now: datetime, wake: Wakeups) -> None:
        if alert is None or alert.status != AlertStatus.OPEN:
            return
        origin = row.origin_channel or row.channel
        nxt = next_fallback(Policy.from_json(alert.policy), origin, row.channel)
        if nxt is None:
            return
        target = target_of(nxt, row.recipient, alert.conversation_id, self.settings.worktool_group)
        fallback = Notification(
            alert_id=row.alert_id,
            level=row.level,
            channel=nxt,
            recipient=row.recipient,
            target=target,
            origin_channel=origin,
            due_at=now,
            created_at=now,
        )
        await Notification.bulk_create([fallback], ignore_conflicts=True)
        wake.deliver(nxt, target, now)
        log.info("alert notification falls back", alert_id=row.alert_id, failed=row.channel, next=nxt)

    async def on_command_outcome(self, command: Command, status: CommandStatus) -> None:
        """Outcomes listener (purpose `alert`): a robot-delivered notification succeeded or failed."""
        rows = await Notification.filter(command_id=command.id)
        now = self.service.clock.now()
        wake = Wakeups()
        if status is CommandStatus.SUCCEEDED:
            await Notification.filter(command_id=command.id).update(
                status=NotificationStatus.DELIVERED, finished_at=now
            )
            for row in rows:
                count_notifications(row.channel, "delivered")
            async with write_transaction("alert delivered by robot") as write:
                conn = write.conn
                await self.service.cancel_matching(
                    CancelReason.RESOLVED,
                    actor="system",
                    note=f"robot delivered command {command.id}",
                    conn=conn,
                    kinds=("command_failed",),
                    subject=command.robot_id,
                )
        elif status in (CommandStatus.FAILED, CommandStatus.UNKNOWN):
            error = f"robot command {command.id} {status.value}: {command.error_reason or ''}".strip()
            alerts = {a.id: a for a in await Alert.filter(id__in=sorted({r.alert_id for r in rows}))}
            for row in rows:
                changed = await Notification.filter(id=row.id, status=NotificationStatus.SENT).update(
                    status=NotificationStatus.FAILED, finished_at=now, error=error[:2000]
                )
                if changed:
                    count_notifications(row.channel, "failed")
                    await self._fall_back(row, alerts.get(row.alert_id), now, wake)
            robot = await Robot.get_or_none(id=command.robot_id)
            async with write_transaction("alert robot failure") as write:
                conn = write.conn
                spec = AlertSpec(
                    kind="command_failed",
                    subject=command.robot_id,
                    where=robot.name if robot is not None else command.robot_id,
                    detail=error,
                    source_command_id=command.id,
                    recur=False,
                )
                await self.service.open(spec, now, conn, wake)
        await self.service.schedule(wake)
