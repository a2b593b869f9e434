"""Making, storing and delivering the daily after-sales report (DESIGN §3.8), on an injected clock.

One `DailyReport` row per business day. Re-making a day recomputes its figures and renderings but keeps
its delivery state, so a delivered report is never sent again. `data` holds `{"figures": …, "delivery":
{channel: what it was sent as}}`: a channel recorded there is never used again for that day, so a retry
after a partial failure sends only what is missing.

Delivery claims the row first — a conditional update that bumps `delivery_attempts` and pushes
`next_attempt_at` past the send (a lease) — so two runs never send at once. Channels (`reports.
deliver_via`): the WeCom group robot webhook (markdown) and our robot in the managers' group
(`alerts.worktool_group`, plain text, `reply_key=report:<day>` so it can never be queued twice). A channel
that is not configured is skipped; with none configured the report is stored and marked "no delivery
channel configured" (no retries, no alert). A failure is retried after `reports.retry_after_s`; after
`reports.max_attempts` attempts managers get a `report_undelivered` alert. Unlike an SMS, a report is
retried after any failure (a timeout included): a duplicate report in the managers' group is harmless,
a missing one is not.

The robot's message is delivered when its command succeeds; a command that fails or never reports back
cannot be queued again (its reply_key), so `on_command_outcome` records it and opens the alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final, Literal, cast
from zoneinfo import ZoneInfo

import structlog

from bot.alerts.channels.base import AlertDigest, Channel, ChannelError, Recipient
from bot.alerts.service import AlertService, AlertSpec, Wakeups
from bot.clock import Clock
from bot.commands.pacing import OutgoingRefused
from bot.commands.selection import NoRobotAvailable
from bot.commands.service import Commands, ConversationNotFound, OutgoingText
from bot.reports.daily import DEFAULT_OVERDUE_HOURS, DailyFigures, compute_daily
from bot.reports.render import render_html, render_markdown, render_text
from bot.settings import Settings
from bot.write_lock import write_transaction
from models.commands import Command, CommandStatus
from models.conversations import Conversation
from models.tasks import DailyReport

log = structlog.get_logger(__name__)
NO_CHANNEL: Final = "no delivery channel configured"
REPLY_KEY_PREFIX: Final = "report:"
PURPOSE: Final = "report"
ALERT_KIND: Final = "report_undelivered"
LEASE_MARGIN: Final = timedelta(seconds=60)  # beyond the send's own timeouts: the sender died mid-send

Outcome = Literal["delivered", "already_delivered", "missing", "no_channel", "not_due", "busy", "failed", "gave_up"]


class NotSent(Exception):
    """A channel did not take the report (the message says why)."""


@dataclass(frozen=True)
class RunResult:
    made: str | None  # the day made by this run (ISO), if any
    deliveries: dict[str, Outcome]  # day -> what the delivery attempt did

    def as_dict(self) -> dict[str, object]:
        return {"made": self.made, "deliveries": dict(self.deliveries)}


def reply_key(day: date) -> str:
    return f"{REPLY_KEY_PREFIX}{day.isoformat()}"


def figures_of(report: DailyReport) -> DailyFigures:
    return cast(DailyFigures, report.data["figures"])


def delivery_of(report: DailyReport) -> dict[str, Any]:
    found = report.data.get("delivery")
    return dict(found) if isinstance(found, dict) else {}


def due_day(local_now: datetime, daily_at: str) -> date | None:
    """The day whose report is due at `local_now` (business time): yesterday once `daily_at` has passed."""
    hour, minute = (int(part) for part in daily_at.split(":"))
    if local_now.time() < time(hour, minute):
        return None
    return local_now.date() - timedelta(days=1)


class Reporter:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        channels: Mapping[str, Channel] | None = None,
        commands: Commands | None = None,
        alerts: AlertService | None = None,
        overdue_hours: float = DEFAULT_OVERDUE_HOURS,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.tz = ZoneInfo(settings.timezone)
        self.channels = dict(channels or {})
        self.commands = commands
        self.alerts = alerts
        self.overdue_hours = overdue_hours

    # -- making ---------------------------------------------------------------------------------------

    async def make_daily_report(self, day: date) -> DailyReport:
        """Compute the day's figures and store them with their renderings (delivery state kept)."""
        figures = await compute_daily(day, self.tz, overdue_hours=self.overdue_hours)
        markdown, html = render_markdown(figures), render_html(figures)
        now = self.clock.now()
        async with write_transaction("daily report") as write:
            conn = write.conn
            row = await DailyReport.filter(day=day).using_db(conn).select_for_update().first()
            if row is None:
                fresh = DailyReport(
                    day=day,
                    data={"figures": figures, "delivery": {}},
                    markdown=markdown,
                    html=html,
                    generated_at=now,
                    next_attempt_at=now,
                )
                # A racing maker's row wins quietly (the same figures); no error aborts the transaction.
                await DailyReport.bulk_create([fresh], ignore_conflicts=True, using_db=conn)
            else:
                data = {"figures": figures, "delivery": delivery_of(row)}
                await (
                    DailyReport.filter(id=row.id)
                    .using_db(conn)
                    .update(data=data, markdown=markdown, html=html, generated_at=now)
                )
        log.info("daily report made", day=day.isoformat(), remade=row is not None)
        return await DailyReport.get(day=day)

    # -- delivering ------------------------------------------------------------------------------------

    def configured_channels(self) -> list[str]:
        """The channels of `reports.deliver_via` that can send; the others are logged and skipped."""
        usable: list[str] = []
        for channel in self.settings.reports.deliver_via:
            reason = self._unconfigured(channel)
            if reason is None:
                usable.append(channel)
            else:
                log.info("daily report channel skipped: not configured", channel=channel, reason=reason)
        return usable

    def _unconfigured(self, channel: str) -> str | None:
        if channel == "wecom_webhook":
            if self.settings.alerts.webhook.key is None:
                return "alerts.webhook.key is not set"
            return None if channel in self.channels else "the webhook channel is not available (alerts disabled)"
        if not self.settings.alerts.worktool_group:
            return "alerts.worktool_group is not set"
        return None if self.commands is not None else "robot channels need the commands layer (worker only)"

    async def deliver_report(self, day: date) -> Outcome:
        """Send the stored report of `day` through every configured channel it has not gone through yet."""
        now = self.clock.now()
        row = await DailyReport.get_or_none(day=day)
        wanted = self.configured_channels()
        blocked = await self._blocked(row, day, wanted, now)
        if blocked is not None or row is None:
            return blocked or "missing"
        attempt = row.delivery_attempts + 1
        lease = timedelta(seconds=self.settings.alerts.request_timeout_s) + LEASE_MARGIN
        claimed = await DailyReport.filter(
            id=row.id, delivered_at=None, delivery_attempts=row.delivery_attempts
        ).update(delivery_attempts=attempt, next_attempt_at=now + lease)
        if not claimed:
            return "busy"
        errors = await self._send_all(row, wanted, now)
        if errors:
            return await self._failed(row, attempt, "; ".join(errors)[:2000], now)
        await DailyReport.filter(id=row.id).update(delivered_at=now, next_attempt_at=None, delivery_error=None)
        log.info("daily report delivered", day=day.isoformat(), channels=wanted, attempt=attempt)
        return "delivered"

    async def _blocked(self, row: DailyReport | None, day: date, wanted: list[str], now: datetime) -> Outcome | None:
        """Why the report cannot be sent now, or None."""
        if row is None:
            return "missing"
        if row.delivered_at is not None:
            return "already_delivered"
        if not wanted:
            await DailyReport.filter(id=row.id, delivered_at=None).update(
                delivery_error=NO_CHANNEL, next_attempt_at=None
            )
            log.warning("daily report stored but not sent: no delivery channel configured", day=day.isoformat())
            return "no_channel"
        if row.delivery_attempts >= self.settings.reports.max_attempts:
            return "gave_up"
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return "not_due"
        return None

    async def _failed(self, row: DailyReport, attempt: int, error: str, now: datetime) -> Outcome:
        day, reports = row.day, self.settings.reports
        if attempt < reports.max_attempts:
            retry_at = now + timedelta(seconds=reports.retry_after_s)
            await DailyReport.filter(id=row.id).update(delivery_error=error, next_attempt_at=retry_at)
            log.warning("daily report delivery failed; will retry", day=day.isoformat(), attempt=attempt, error=error)
            return "failed"
        await DailyReport.filter(id=row.id).update(delivery_error=error, next_attempt_at=None)
        log.error("daily report undelivered; giving up", day=day.isoformat(), attempts=attempt, error=error)
        await self._alert(day, f"{attempt} 次发送均失败：{error}", now)
        return "gave_up"

    async def _send_all(self, row: DailyReport, wanted: list[str], now: datetime) -> list[str]:
        done = delivery_of(row)
        errors = []
        for channel in wanted:
            if channel in done:
                continue
            try:
                sent = await (self._via_webhook(row) if channel == "wecom_webhook" else self._via_robot(row))
            except NotSent as exc:
                errors.append(f"{channel}: {exc}")
                continue
            await self._record(row.id, channel, {"at": now.isoformat(), **sent})
        return errors

    async def _via_webhook(self, row: DailyReport) -> dict[str, Any]:
        title = f"售后日报 {row.day.isoformat()}"
        digest = AlertDigest(alert_ids=(), level=1, level_name="日报", title=title, text=title, markdown=row.markdown)
        try:
            sent = await self.channels["wecom_webhook"].send(Recipient(name="webhook"), digest)
        except ChannelError as exc:
            raise NotSent(f"{exc.code + ': ' if exc.code else ''}{exc}") from exc
        return {"provider": sent.provider}

    async def _via_robot(self, row: DailyReport) -> dict[str, Any]:
        assert self.commands is not None  # checked by configured_channels
        group = self.settings.alerts.worktool_group
        found = await Conversation.filter(name=group, kind="group").order_by("id").first()
        if found is None:
            raise NotSent(f"our robots have not seen the group {group!r} yet")
        out = OutgoingText(
            conversation_id=found.id,
            text=render_text(figures_of(row)),
            reply_key=reply_key(row.day),
            purpose=PURPOSE,
            requested_by="reports",
            role="alert",
        )
        try:
            queued = await self.commands.send_text(out)  # wakes the robot when it wrote new commands
        except (NoRobotAvailable, OutgoingRefused, ConversationNotFound) as exc:
            raise NotSent(str(exc)) from exc
        return {"robot_id": queued.robot_id, "command_ids": queued.command_ids}

    async def _record(self, report_id: int, channel: str, sent: dict[str, Any]) -> None:
        """Note at once that `channel` took the report (a crash before the end must not resend it)."""
        async with write_transaction("report delivery") as write:
            conn = write.conn
            row = await DailyReport.filter(id=report_id).using_db(conn).select_for_update().first()
            if row is None:
                return
            data = dict(row.data)
            data["delivery"] = {**delivery_of(row), channel: sent}
            await DailyReport.filter(id=report_id).using_db(conn).update(data=data)

    async def _alert(self, day: date, detail: str, now: datetime) -> None:
        if self.alerts is None:
            log.error("daily report undelivered and alerts are disabled", day=day.isoformat(), detail=detail)
            return
        wake = Wakeups()
        spec = AlertSpec(kind=ALERT_KIND, subject=day.isoformat(), where=day.isoformat(), detail=detail, recur=False)
        async with write_transaction("report delivery outcome") as write:
            conn = write.conn
            await self.alerts.open(spec, now, conn, wake)
        await self.alerts.schedule(wake)

    # -- the robot's outcome ------------------------------------------------------------------------------

    async def on_command_outcome(self, command: Command, status: CommandStatus) -> None:
        """Outcomes listener (purpose `report`): a failed or lost robot message cannot be queued again
        under its reply_key, so it is recorded on the report and alerted."""
        raw = command.reply_key.removeprefix(REPLY_KEY_PREFIX)
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return
        if status not in (CommandStatus.FAILED, CommandStatus.UNKNOWN):
            return
        now = self.clock.now()
        error = f"worktool_group: robot command {command.id} {status.value}: {command.error_reason or ''}".strip()
        await DailyReport.filter(day=day).update(delivery_error=error[:2000])
        log.warning(
            "daily report robot message failed", day=day.isoformat(), command_id=command.id, status=status.value
        )
        await self._alert(day, error, now)

    # -- the cron ------------------------------------------------------------------------------------------

    async def run_due(self) -> RunResult:
        """Make and deliver yesterday's report once `reports.daily_at` has passed (business time), and
        retry the deliveries that are due."""
        now = self.clock.now()
        made = None
        day = due_day(now.astimezone(self.tz), self.settings.reports.daily_at)
        if day is not None and not await DailyReport.exists(day=day):
            await self.make_daily_report(day)
            made = day.isoformat()
        due = await (
            DailyReport.filter(delivered_at=None, next_attempt_at__lte=now)
            .order_by("day")
            .values_list("day", flat=True)
        )
        deliveries: dict[str, Outcome] = {}
        for pending in due:
            assert isinstance(pending, date)
            deliveries[pending.isoformat()] = await self.deliver_report(pending)
        return RunResult(made, deliveries)
