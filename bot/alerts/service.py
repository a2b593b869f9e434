"""Opening, escalating and cancelling alerts: every change in the caller's transaction, every wake-up after.

Each method takes the transaction (`conn`) it runs in and a `Wakeups` it adds to; the caller commits and
then calls `schedule(wakeups)`, which defers arq jobs to the due times stored in the rows. A lost job
changes nothing: the sweeper finds overdue rows and schedules them again.

Races: every change of an open alert is a conditional update on `(status=open, step_token=<seen>)` and
bumps the token. A step scheduled with an old token does nothing; a cancel always lands (it needs only
`status=open`) and marks the alert's pending notifications skipped in the same transaction.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

import structlog
from arq.connections import ArqRedis
from redis.exceptions import RedisError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from bot import limits
from bot.alerts.batch import (
    NewNotification,
    StepUpdate,
    insert_events,
    insert_notifications,
    notification_rows,
    write_steps,
)
from bot.alerts.due_targets import DueTargets
from bot.alerts.policy import Policy, Step, next_due, plan_step, snapshot
from bot.clock import Clock
from bot.job_names import DELIVER_JOB, STEP_JOB
from bot.rules.alerts import MAX_LEVEL, AlertsFile
from bot.rules.people import Directory
from bot.settings import Settings
from bot.wecom.ack import AckOutcome
from bot.write_lock import write_transaction
from models.alerts import Alert, AlertEvent, AlertStatus, CancelReason, Notification, NotificationStatus

log = structlog.get_logger(__name__)

CONVERSATION_KINDS: Final = (
    "complaint_unhandled",
    "private_operation",
    "operator_tone_hard",
    "user_refused",
    "user_no_response",
)
STEP_BATCH: Final = 50  # alerts stepped per transaction
STEP_FIELDS: Final = (
    "id",
    "kind",
    "conversation_id",
    "level",
    "max_level",
    "status",
    "policy",
    "opened_at",
    "next_escalation_at",
    "step_token",
)
STEP_SLOT_MS: Final = 200  # steps due within this share one job (a storm: 167 steps/s, 5 jobs/s)
OFFERED_TTL_S: Final = 30.0
OFFERED_MAX: Final = 10_000
_ALERT_REF: Final = re.compile(r"[#＃]\s*(\d{1,12})")


@dataclass
class Wakeups:
    """What to schedule once the transaction has committed."""

    steps: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # alert -> (token, due)
    deliveries: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (channel, target) -> due

    def step(self, alert_id: int, token: int, due: datetime | None) -> None:
        if due is not None:
            self.steps[alert_id] = (token, due)

    def deliver(self, channel: str, target: str, due: datetime) -> None:
        key = (channel, target)
        self.deliveries[key] = min(due, self.deliveries.get(key, due))

    def merge(self, other: Wakeups) -> None:
        self.steps.update(other.steps)
        for (channel, target), due in other.deliveries.items():
            self.deliver(channel, target, due)

    def __bool__(self) -> bool:
        return bool(self.steps or self.deliveries)


@dataclass(frozen=True)
class _Escalation:
    update: StepUpdate
    event: AlertEvent
    rows: list[NewNotification]
    wake: Wakeups
    kind: str


@dataclass(frozen=True)
class AlertSpec:
    kind: str
    subject: str = ""
    conversation_id: int | None = None
    where: str = ""  # the conversation's name (for the message)
    detail: str = ""
    source_message_id: int | None = None
    source_command_id: int | None = None
    recur: bool = True  # False: an open alert of the same key is left alone (state reconcilers)

    @property
    def dedup_key(self) -> str:
        return f"{self.kind}:{self.conversation_id or '-'}:{self.subject}"


@dataclass(frozen=True)
class Opened:
    alert: Alert
    created: bool
    escalated: bool


@dataclass(frozen=True)
class Closed(AckOutcome):
    """`done` False: it was already closed (or never existed); `message` is for the person who asked."""

    alert: Alert | None = None


class AlertError(Exception):
    """A request about an alert that cannot be honoured (the API answers 404/409 with the message)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def alert_refs(text: str) -> list[int]:
    """Alert ids written as `#12` in a message."""
    return [int(m) for m in _ALERT_REF.findall(text)]


class AlertService:
    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        rules: Callable[[], AlertsFile],
        redis: ArqRedis,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self._rules = rules
        self.redis = redis
        self.clock = clock
        self.tz = ZoneInfo(settings.timezone)
        self.gather = timedelta(seconds=settings.alerts.gather_s)
        self._offered: dict[str, float] = {}  # job id -> when this process queued it (monotonic)
        self.due_targets = DueTargets(redis)
        self._stepping = asyncio.Lock()

    @property
    def rules(self) -> AlertsFile:
        return self._rules()

    # -- opening ------------------------------------------------------------------------------------

    async def open(self, spec: AlertSpec, now: datetime, conn: BaseDBAsyncClient, wake: Wakeups) -> Opened:
        """Open an alert, or count a recurrence of the open one with the same key (one level up at once)."""
        key = spec.dedup_key
        existing = await Alert.filter(open_key=key).using_db(conn).first()
        if existing is None:
            policy = snapshot(self.rules, spec.kind, self.directory, now, self.tz)
            level = self.rules.kinds[spec.kind].start_level  # type: ignore[index]
            uid = uuid.uuid4().hex
            due = next_due(policy, now, level)
            fresh = Alert(
                uid=uid,
                kind=spec.kind,
                dedup_key=key,
                open_key=key,
                conversation_id=spec.conversation_id,
                subject=spec.subject,  # whole: it is part of the key, and cancelling matches it
                title=(f"{policy.title} · {spec.where}" if spec.where else policy.title)[: limits.ALERT_TITLE_CHARS],
                detail=spec.detail[:2000],
                level=level,
                max_level=level,
                policy=policy.to_json(),
                opened_at=now,
                last_fired_at=now,
                next_escalation_at=due,
                step_token=1,
                source_message_id=spec.source_message_id,
                source_command_id=spec.source_command_id,
            )
            # Never raises on a racing twin (which would abort the caller's transaction on PostgreSQL):
            # the insert is skipped and the twin is found below.
            await Alert.bulk_create([fresh], ignore_conflicts=True, using_db=conn)
            existing = await Alert.filter(open_key=key).using_db(conn).first()
            if existing is not None and existing.uid == uid:
                await self._event(existing, "opened", actor="system", detail=spec.detail[:200], now=now, conn=conn)
                await self._notify_level(existing, policy, level, now=now, conn=conn, wake=wake)
                wake.step(existing.id, existing.step_token, due)
                log.warning("alert opened", alert_id=existing.id, kind=spec.kind, level=level, key=key)
                return Opened(existing, created=True, escalated=False)
        if existing is None:  # opened and closed again in between: very unlikely; try once more
            return await self.open(spec, now, conn, wake)
        if not spec.recur:
            return Opened(existing, created=False, escalated=False)
        previous = existing.last_fired_at
        await Alert.filter(id=existing.id).using_db(conn).update(occurrences=F("occurrences") + 1, last_fired_at=now)
        existing.occurrences += 1
        escalated = False
        burst = now - previous < timedelta(minutes=self.rules.recurrence_cooldown_minutes)
        if existing.level < MAX_LEVEL and not burst:
            escalated = await self._raise(
                existing,
                existing.level + 1,
                now=now,
                conn=conn,
                wake=wake,
                action="recurred",
                actor="system",
                detail=f"#{existing.occurrences}",
            )
        else:
            detail = f"#{existing.occurrences}" + (" within the cool-down: counted only" if burst else "")
            await self._event(existing, "recurred", actor="system", detail=detail, now=now, conn=conn)
        return Opened(existing, created=False, escalated=escalated)

    # -- escalating ---------------------------------------------------------------------------------

    async def _raise(
        self,
        alert: Alert,
        level: int,
        *,
        now: datetime,
        conn: BaseDBAsyncClient,
        wake: Wakeups,
        action: str,
        actor: str,
        detail: str,
    ) -> bool:
        """Move an open alert to `level` and notify that level; False if it changed under us."""
        policy = Policy.from_json(alert.policy)
        due = next_due(policy, alert.opened_at, level)
        token = alert.step_token + 1
        changed = await (
            Alert.filter(id=alert.id, status=AlertStatus.OPEN, step_token=alert.step_token)
            .using_db(conn)
            .update(
                level=level,
                max_level=max(level, alert.max_level),
                escalation_count=F("escalation_count") + 1,
                escalated_at=now,
                next_escalation_at=due,
                step_token=token,
            )
        )
        if changed != 1:
            return False
        old = alert.level
        alert.level, alert.max_level, alert.step_token = level, max(level, alert.max_level), token
        alert.escalation_count += 1
        alert.escalated_at, alert.next_escalation_at = now, due
        await self._event(alert, action, actor=actor, detail=f"L{old}→L{level} {detail}".strip(), now=now, conn=conn)
        await self._notify_level(alert, policy, level, now=now, conn=conn, wake=wake)
        wake.step(alert.id, token, due)
        log.warning("alert escalated", alert_id=alert.id, kind=alert.kind, level=level, via=action, actor=actor)
        return True

    async def step_due(self, *, limit: int = STEP_BATCH) -> dict[int, str]:
        """Every step due now (arq job and sweeper), `limit` alerts per transaction: escalate or expire.
        Returns the outcome per alert. Several workers share the work: on PostgreSQL each batch locks its
        rows and skips those another worker holds; on SQLite the write lock makes the batches take turns."""
        outcomes: dict[int, str] = {}
        async with self._stepping:  # two batches of one process would read, and decide, the same alerts
            while True:
                batch = await self._step_batch(limit=limit)
                outcomes.update(batch)
                if len(batch) < limit:
                    return outcomes

    async def step(self, alert_id: int, token: int) -> str:
        """One alert's step, the way `step_due` takes it: escalate, expire, or nothing if stale/early."""
        outcomes = await self._step_batch(limit=1, only=(alert_id, token))
        return outcomes.get(alert_id, "stale")

    async def _step_batch(self, *, limit: int, only: tuple[int, int] | None = None) -> dict[int, str]:
        """Load the due alerts once and decide each in memory (pure `plan_step`) before taking the write
        lock; then, holding the rows, keep the decisions of the alerts still as they were read (same
        token) and write them with a few statements: one prepared UPDATE, one INSERT of events, one of
        notification rows. The lock is held for the writes only (~5 ms for 50 steps on SQLite)."""
        now = self.clock.now()
        query = Alert.filter(status=AlertStatus.OPEN)
        if only is None:
            query = query.filter(next_escalation_at__lte=now).order_by("next_escalation_at")
        else:
            query = query.filter(id=only[0], step_token=only[1])
        alerts = await query.limit(limit).only(*STEP_FIELDS)  # not the texts: a step does not need them
        planned = [(alert, Policy.from_json(alert.policy)) for alert in alerts]
        if not planned:
            return {}
        decisions = {alert.id: plan_step(policy, alert.opened_at, alert.level, now) for alert, policy in planned}
        escalations = {
            alert.id: self._escalation(alert, policy, decisions[alert.id], now)
            for alert, policy in planned
            if decisions[alert.id].action == "escalate"
        }
        wake = Wakeups()
        outcomes: dict[int, str] = {}
        async with write_transaction("alert steps") as tx:
            conn = tx.conn
            held = await (
                Alert.filter(id__in=[alert.id for alert, _ in planned], status=AlertStatus.OPEN)
                .using_db(conn)
                .select_for_update(skip_locked=True)  # PostgreSQL: another worker's batch is skipped
                .only("id", "step_token")
            )
            tokens = {alert.id: alert.step_token for alert in held}
            written = []
            for alert, policy in planned:
                if tokens.get(alert.id) != alert.step_token:
                    continue  # changed meanwhile (cancelled, raised) or taken by another worker: stale
                decision = decisions[alert.id]
                if decision.action == "wait":
                    outcomes[alert.id] = await self._wait(alert, decision.next_due, now=now, conn=conn, wake=wake)
                elif decision.action == "expire":
                    note = f"open longer than {policy.max_age_hours:g} h"
                    await self._close(alert, CancelReason.EXPIRED, actor="system", note=note, now=now, conn=conn)
                    outcomes[alert.id] = "expired"
                else:
                    written.append(escalations[alert.id])
                    outcomes[alert.id] = "escalated"
            await write_steps(conn, [step.update for step in written])
            await insert_events(conn, [step.event for step in written])
            await insert_notifications(conn, [row for step in written for row in step.rows])
        for step in written:
            wake.merge(step.wake)
            log.warning(
                "alert escalated",
                alert_id=step.update.alert_id,
                kind=step.kind,
                level=step.update.level,
                via="escalated",
                actor="system",
            )
        await self.schedule(wake)
        return outcomes

    def _escalation(self, alert: Alert, policy: Policy, decision: Step, now: datetime) -> _Escalation:
        """What a due step that raises the alert writes (decided before any lock is taken)."""
        old, level, token = alert.level, decision.level, alert.step_token
        minutes = (now - alert.opened_at).total_seconds() / 60
        detail = f"L{old}→L{level} open {minutes:.0f} min"
        event = AlertEvent(alert_id=alert.id, at=now, action="escalated", level=level, detail=detail)
        wake = Wakeups()
        rows = self._level_rows(alert, policy, level, now=now, wake=wake)
        wake.step(alert.id, token + 1, decision.next_due)
        update = StepUpdate(alert.id, token, level, max(level, alert.max_level), now, decision.next_due)
        return _Escalation(update, event, rows, wake, alert.kind)

    async def _wait(
        self, alert: Alert, due: datetime | None, *, now: datetime, conn: BaseDBAsyncClient, wake: Wakeups
    ) -> str:
        """Not due yet: a job that fired early comes back at the stored time; a stored time the policy
        does not agree with (it is past, the step is not) is corrected, or the scan would find it again."""
        when = alert.next_escalation_at
        if when is None or when <= now:
            when = due
            await Alert.filter(id=alert.id, step_token=alert.step_token).using_db(conn).update(next_escalation_at=due)
        wake.step(alert.id, alert.step_token, when)
        return "early"

    async def escalate(
        self, alert_id: int, to_level: int, *, reason: str, actor: str, conn: BaseDBAsyncClient, wake: Wakeups
    ) -> tuple[Alert, int]:
        """Manual escalation (API): to a higher level at once. Returns the alert and its old level."""
        now = self.clock.now()
        alert = await Alert.filter(id=alert_id).using_db(conn).select_for_update().first()
        if alert is None:
            raise AlertError(f"alert {alert_id} does not exist", status=404)
        if alert.status != AlertStatus.OPEN:
            raise AlertError(f"alert {alert_id} is closed ({alert.cancel_reason}); it cannot be escalated", status=409)
        if not alert.level < to_level <= MAX_LEVEL:
            raise AlertError(
                f"escalate_to must be above the current level {alert.level} and at most {MAX_LEVEL}", status=409
            )
        old = alert.level
        raised = await self._raise(
            alert, to_level, now=now, conn=conn, wake=wake, action="escalated", actor=actor, detail=reason
        )
        if not raised:
            raise AlertError(f"alert {alert_id} changed meanwhile; try again", status=409)
        return alert, old

    # -- cancelling ---------------------------------------------------------------------------------

    async def _close(
        self,
        alert: Alert,
        reason: CancelReason,
        *,
        actor: str,
        note: str,
        now: datetime,
        conn: BaseDBAsyncClient,
        claimed: bool = False,
    ) -> bool:
        extra: dict[str, object] = {"claimed_by": actor[: limits.NAME_CHARS], "claimed_at": now} if claimed else {}
        changed = await (
            Alert.filter(id=alert.id, status=AlertStatus.OPEN)
            .using_db(conn)
            .update(
                status=AlertStatus.CANCELLED,
                open_key=None,
                next_escalation_at=None,
                step_token=F("step_token") + 1,
                cancel_reason=reason,
                cancel_note=note[: limits.REASON_CHARS],
                cancelled_by=actor[: limits.NAME_CHARS],
                cancelled_at=now,
                **extra,
            )
        )
        if changed != 1:
            return False
        alert.status, alert.cancel_reason = AlertStatus.CANCELLED, reason
        alert.cancel_note = note[: limits.REASON_CHARS]
        alert.cancelled_by, alert.cancelled_at, alert.open_key, alert.next_escalation_at = actor, now, None, None
        if claimed:
            alert.claimed_by, alert.claimed_at = actor, now
        await (
            Notification.filter(alert_id=alert.id, status=NotificationStatus.PENDING)
            .using_db(conn)
            .update(status=NotificationStatus.SKIPPED, error=f"alert {reason.value}", finished_at=now)
        )
        action = "claimed" if claimed else "cancelled"
        await self._event(alert, action, actor=actor, detail=f"{reason.value}: {note}", now=now, conn=conn)
        log.info("alert cancelled", alert_id=alert.id, kind=alert.kind, reason=reason.value, actor=actor, note=note)
        return True

    async def cancel(
        self,
        alert_id: int,
        reason: CancelReason,
        *,
        actor: str,
        note: str,
        conn: BaseDBAsyncClient,
        claimed: bool = False,
    ) -> Closed:
        """Idempotent: a closed alert stays as it was closed (done=False says so)."""
        now = self.clock.now()
        alert = await Alert.filter(id=alert_id).using_db(conn).first()
        if alert is None:
            return Closed(alert_id, False, f"告警 #{alert_id} 不存在")
        if await self._close(alert, reason, actor=actor, note=note, now=now, conn=conn, claimed=claimed):
            verb = f"已被 {actor} 接手" if claimed else "已取消"
            return Closed(alert_id, True, f"告警 #{alert_id} {verb}", alert)
        alert = await Alert.get(id=alert_id, using_db=conn)
        when = alert.cancelled_at.astimezone(self.tz).strftime("%m-%d %H:%M") if alert.cancelled_at else "?"
        return Closed(alert_id, False, f"告警 #{alert_id} 已于 {when} 关闭（{alert.cancel_reason}）", alert)

    async def cancel_matching(
        self,
        reason: CancelReason,
        *,
        actor: str,
        note: str,
        conn: BaseDBAsyncClient,
        kinds: Sequence[str],
        conversation_id: int | None = None,
        subject: str | None = None,
    ) -> list[int]:
        """Cancel every open alert of `kinds` in a conversation (and of a subject); returns their ids."""
        query = Alert.filter(status=AlertStatus.OPEN, kind__in=list(kinds)).using_db(conn)
        if conversation_id is not None:
            query = query.filter(conversation_id=conversation_id)
        if subject is not None:
            query = query.filter(subject=subject)
        now = self.clock.now()
        closed = []
        for alert in await query.order_by("id"):
            if await self._close(alert, reason, actor=actor, note=note, now=now, conn=conn):
                closed.append(alert.id)
        return closed

    async def acknowledge(self, alert_id: int, action: Literal["resolve", "claim"], actor: str, via: str) -> Closed:
        """已处理 / 接手 #id from WeCom or a chat: recorded as `manual` with the actor."""
        note = f"{via}: {'接手' if action == 'claim' else '已处理'}"
        async with write_transaction("alert acknowledge", alert_id=alert_id) as tx:
            return await self.cancel(
                alert_id, CancelReason.MANUAL, actor=actor, note=note, conn=tx.conn, claimed=action == "claim"
            )

    async def open_subjects(self, conversation_id: int, kinds: Sequence[str], conn: BaseDBAsyncClient) -> set[str]:
        rows = await (
            Alert.filter(conversation_id=conversation_id, status=AlertStatus.OPEN, kind__in=list(kinds))
            .using_db(conn)
            .values_list("subject", flat=True)
        )
        return {str(subject) for subject in rows}

    async def open_description(self, conversation_id: int, conn: BaseDBAsyncClient) -> str | None:
        """The conversation's newest open alert, described (counts as an open item for a takeover)."""
        alert = (
            await Alert.filter(conversation_id=conversation_id, status=AlertStatus.OPEN)
            .using_db(conn)
            .order_by("-id")
            .first()
        )
        return f"alert #{alert.id} ({alert.kind})" if alert is not None else None

    # -- notifications ------------------------------------------------------------------------------

    def _level_rows(
        self, alert: Alert, policy: Policy, level: int, *, now: datetime, wake: Wakeups
    ) -> list[NewNotification]:
        rows = notification_rows(
            alert,
            policy,
            level,
            now=now,
            directory=self.directory,
            tz=self.tz,
            managers_group=self.settings.alerts.worktool_group,
        )
        for row in rows:
            if row.status is NotificationStatus.PENDING:
                wake.deliver(row.channel, row.target, now + self.gather)
        if not rows:
            log.warning("alert level has nobody to notify", alert_id=alert.id, level=level)
        return rows

    async def _notify_level(
        self, alert: Alert, policy: Policy, level: int, *, now: datetime, conn: BaseDBAsyncClient, wake: Wakeups
    ) -> None:
        await insert_notifications(conn, self._level_rows(alert, policy, level, now=now, wake=wake))

    async def _event(
        self, alert: Alert, action: str, *, actor: str, detail: str, now: datetime, conn: BaseDBAsyncClient
    ) -> None:
        await AlertEvent.create(
            alert_id=alert.id,
            at=now,
            action=action,
            level=alert.level,
            actor=actor[: limits.NAME_CHARS],
            detail=detail,
            using_db=conn,
        )

    # -- scheduling ---------------------------------------------------------------------------------

    def _offered_recently(self, job_id: str) -> bool:
        """Whether this process queued this delivery job a moment ago (then asking Redis again is a no-op
        that costs round trips: in a storm, every step would re-offer the same supervisor's slot)."""
        now = time.monotonic()
        if len(self._offered) > OFFERED_MAX:
            self._offered = {k: t for k, t in self._offered.items() if now - t < OFFERED_TTL_S}
        if now - self._offered.get(job_id, -OFFERED_TTL_S) < OFFERED_TTL_S:
            return True
        self._offered[job_id] = now
        return False

    async def schedule(self, wake: Wakeups, *, already_queued: frozenset[str] = frozenset()) -> None:
        """Defer arq jobs to the due times (relative to our clock, read per job: a long batch must not
        drift). Each job takes everything due when it runs (`step_due`, `Deliverer.deliver_due`), so steps
        due within `STEP_SLOT_MS` share one job, and deliveries one per gather slot: a storm wakes the
        worker a few times a second, not once per step and target. Redis down: the sweeper catches up.
        `already_queued`: job ids known to be waiting (the sweeper skips them)."""
        if not wake:
            return
        now = self.clock.now()
        jobs: dict[str, tuple[str, int]] = {}  # job id -> (function, when in ms)
        for _token, due in wake.steps.values():
            slot = _slot_ms(max(due, now), STEP_SLOT_MS)
            jobs.setdefault(f"alert-steps:{slot}", (STEP_JOB, slot))
        gather_ms = max(int(self.gather.total_seconds() * 1000), 1)
        for due in wake.deliveries.values():
            slot = _slot_ms(max(due, now), gather_ms)
            jobs.setdefault(f"deliver:{slot}", (DELIVER_JOB, slot))
        try:
            await self.due_targets.offer(wake.deliveries)  # what the delivery jobs will look at
            for job_id, (function, slot) in sorted(jobs.items(), key=lambda job: job[1][1]):
                if job_id in already_queued or self._offered_recently(job_id):
                    continue
                delay = max(datetime.fromtimestamp(slot / 1000, UTC) - self.clock.now(), timedelta(0))
                await self.redis.enqueue_job(function, _job_id=job_id, _defer_by=delay)
        except (RedisError, OSError) as exc:
            log.warning("alert jobs not scheduled; the sweeper will pick them up", error=str(exc))


def _slot_ms(at: datetime, slot_ms: int) -> int:
    """`at` in epoch milliseconds, rounded up to a multiple of `slot_ms` (a job never runs before `at`)."""
    return -(-int(at.timestamp() * 1000) // slot_ms) * slot_ms
