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
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

import structlog
from redis.exceptions import RedisError

from bot import limits
from bot.alerts.batch import SentBatch, claim_rows, mark_sent
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
SEND_CONCURRENCY: Final = 16  # provider requests in flight per wake-up
TARGETS_PER_RUN: Final = 64  # targets taken at a time (one claim, one round of sends, one record of them)
RUN_BUDGET_S: Final = 2.0  # then the next rounds in a job of their own
ROWS_PER_RUN: Final = 600  # rows claimed at a time (calls carry up to 500): short writes, short jobs


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
        self._held: dict[tuple[str, str], datetime] = {}  # (channel, target) -> held by its send limit until

    async def deliver(self, channel: str, target: str) -> int:
        """Send the due rows of one target; returns how many rows went out."""
        return await self.deliver_due(only=(channel, target))

    async def deliver_due(self, *, only: tuple[str, str] | None = None) -> int:
        """Send the due rows of every target due now (or of `only`), each target's rows as one message;
        returns how many rows went out. The targets come from the due-targets index (their rows are read
        by target), their send limits are asked in one Redis round trip, their rows claimed with one
        prepared statement, the messages sent concurrently and recorded with one statement."""
        sent, began = 0, time.monotonic()
        while True:
            now = self.service.clock.now()
            wake = Wakeups()
            try:
                targets = [only] if only is not None else await self._due_targets(now)
                claimed = await self._claim(targets, now, wake)
                if claimed:
                    # Read back by batch too: a row another worker claimed first is its, not ours.
                    rows = await Notification.filter(
                        id__in=[row_id for row_id, _ in claimed],
                        batch__in=list({batch for _, batch in claimed}),
                        status=NotificationStatus.SENDING,
                    ).order_by("id")
                    alerts = {a.id: a for a in await Alert.filter(id__in=sorted({r.alert_id for r in rows}))}
                    batches: dict[str, list[Notification]] = {}
                    for row in rows:
                        batches.setdefault(str(row.batch), []).append(row)
                    sent += await self._send_batches(batches, alerts, now)
            finally:
                await self.service.schedule(wake)
            if only is not None or len(targets) < TARGETS_PER_RUN:
                return sent
            if time.monotonic() - began > RUN_BUDGET_S:  # a stopping worker waits for short jobs only
                await self.service.schedule(Wakeups(deliveries={targets[-1]: now}))  # a job for the rest
                return sent

    async def _due_targets(self, now: datetime) -> list[tuple[str, str]]:
        try:
            return await self.service.due_targets.take(now, TARGETS_PER_RUN)
        except (RedisError, OSError) as exc:  # the database knows too, at a higher price
            log.warning("due alert targets unavailable in redis; grouping the due rows", error=str(exc))
        due = await (
            Notification.filter(status=NotificationStatus.PENDING, due_at__lte=now)
            .group_by("channel", "target")
            .limit(TARGETS_PER_RUN - 1)  # fewer than a full page: no second round
            .values_list("channel", "target")
        )
        return [(str(channel), str(target)) for channel, target in due]

    async def _claim(self, targets: list[tuple[str, str]], now: datetime, wake: Wakeups) -> list[tuple[int, str]]:
        """Claim (pending → sending, committed) the due rows of the targets the send limits admit; returns
        (row id, batch) as asked (another worker may have claimed some first). A held target's rows stay
        as they are (re-dating hundreds of held rows on every wake-up cost more than the sends): it is
        offered again for when its limit frees."""
        by_channel: dict[str, list[str]] = {}
        for channel, target in targets:
            until = self._held.get((channel, target))
            if until is not None and until > now:
                wake.deliver(channel, target, until)  # known to be held: not even its rows are read
            else:
                by_channel.setdefault(channel, []).append(target)
        due: dict[tuple[str, str], list[int]] = {}
        for channel, names in by_channel.items():
            found = await (
                Notification.filter(
                    channel=channel, target__in=names, status=NotificationStatus.PENDING, due_at__lte=now
                )
                .order_by("id")
                .values_list("id", "target")
            )
            for row_id, target in found:
                due.setdefault((channel, str(target)), []).append(int(row_id))
        rows = 0
        for channel, target in list(due):
            if rows >= ROWS_PER_RUN:  # short writes and short jobs: the rest in the next round
                wake.deliver(channel, target, now)
                del due[channel, target]
            else:
                rows += min(len(due[channel, target]), MAX_ROWS.get(channel, MAX_PER_MESSAGE))
        waits = await self.limits.wait_many(list(due))
        claims: list[tuple[int, str]] = []
        for ((channel, target), ids), wait in zip(due.items(), waits, strict=True):
            if wait > 0:
                later = now + timedelta(seconds=wait)
                self._held[channel, target] = later
                wake.deliver(channel, target, later)
                log.info("alert delivery held by the send limit", channel=channel, target=target, wait_s=round(wait, 1))
                continue
            self._held.pop((channel, target), None)
            most = MAX_ROWS.get(channel, MAX_PER_MESSAGE)
            if len(ids) > most:
                wake.deliver(channel, target, now)  # the rest in the next message
            batch = uuid.uuid4().hex
            claims += [(row_id, batch) for row_id in ids[:most]]
        if claims:
            await self._retry_contention(lambda: self._claim_rows(claims, now))
        return claims

    async def _claim_rows(self, claims: list[tuple[int, str]], now: datetime) -> None:
        async with write_transaction("alert deliveries") as write:
            await claim_rows(write.conn, claims, now)

    async def _send_batches(
        self, batches: Mapping[str, list[Notification]], alerts: Mapping[int, Alert], now: datetime
    ) -> int:
        """Every claimed message at once (a few in flight per provider); robot channels queue commands."""
        gate = asyncio.Semaphore(SEND_CONCURRENCY)

        async def send(rows: list[Notification]) -> Sent:
            channel, target = rows[0].channel, rows[0].target
            sender = self.channels.get(channel)
            if sender is None:
                raise NotConfigured(f"channel {channel!r} is not available")
            async with gate:
                return await sender.send(self._recipient(channel, target, rows), self._digest(rows, alerts, now))

        http = {batch: rows for batch, rows in batches.items() if rows[0].channel not in ROBOT_CHANNELS}
        outcomes = await asyncio.gather(*(send(rows) for rows in http.values()), return_exceptions=True)
        sent: list[SentBatch] = []
        failed: list[tuple[list[Notification], ChannelError]] = []
        unexpected: BaseException | None = None
        for (batch, rows), outcome in zip(http.items(), outcomes, strict=True):
            if isinstance(outcome, Sent):  # the channel logged the send
                provider_id = (outcome.provider_id or "")[: limits.PROVIDER_ID_CHARS] or None
                sent.append(SentBatch(batch, tuple(r.id for r in rows), outcome.provider, provider_id))
            elif isinstance(outcome, ChannelError):
                failed.append((rows, outcome))
            else:
                unexpected = unexpected or outcome  # rows stay `sending`: the sweeper calls them unknown
        if sent:
            await self._retry_contention(lambda: self._mark_sent(sent, now))  # the row must not stay `sending`
        count = 0
        for s in sent:
            rows = http[s.batch]
            count_notifications(rows[0].channel, "sent", len(rows))
            count += len(rows)
        for rows, exc in failed:
            await self._failed(rows, alerts, exc, now)
        for batch, rows in batches.items():
            if batch in http:
                continue
            try:
                digest = self._digest(rows, alerts, now)
                count += await self._via_robot(
                    rows[0].channel, rows[0].target, rows, alerts, digest=digest, batch=batch, now=now
                )
            except ChannelError as exc:
                await self._failed(rows, alerts, exc, now)
        if unexpected is not None:
            raise unexpected
        return count

    async def _mark_sent(self, sent: list[SentBatch], now: datetime) -> None:
        async with write_transaction("alert deliveries sent") as write:
            await mark_sent(write.conn, sent, now)

    @staticmethod
    async def _retry_contention(write: Callable[[], Awaitable[None]]) -> None:
        """Insist through a busy SQLite: a claim or a record of what went out must not be lost."""
        for attempt in range(MARK_ATTEMPTS):
            try:
                await write()
            except Exception as exc:
                if not is_write_contention(exc) or attempt == MARK_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
            else:
                return

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
