"""Alert benchmark (DESIGN §6): with 10,000 open alerts, escalation steps fire within 2 s of their due time and
the worker stays below 300 MB RSS.

Seeds N open alerts straight into a fresh SQLite database (a third each at levels 1, 2 and 3, with the rows a
real opening and escalation would have left: events, level notifications already sent), each alert's next step
due at an even spread over the window; enqueues those steps the way production does (`AlertService.schedule`:
an arq job deferred to the due time); then starts `hub worker` against a throwaway Redis and the fake WeCom /
Alibaba Cloud / Tencent servers running in this process. Measured: step lateness (`escalated_at` - due; and when
the step was first visible in the database), steps missed or run twice, exactly-once delivery (accepted provider
calls against the sent notification batches) and the worker's RSS. Baselines in the same run: arq's own lateness
for a trivial deferred job at the same rate, and the worker's RSS when idle.

Audiences: a generated people.yaml of `--staff` staff members, 2 supervisors (also the escalation list) and
2 managers; each alert's policy is the real `snapshot` with one of the staff on duty (round robin), so the
notifications spread over many targets. The robot channels (group_reminder, worktool_group) are left out of
the levels: the benchmark has no WorkTool robots.
Usage: `python scripts/bench_alerts.py [--quick] [--alerts N] [--window S] [--workers N] [--send-limit N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import yaml

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from arq import func  # noqa: E402
from arq.worker import Worker  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bot.alerts.policy import Policy, plan_level, snapshot, target_of  # noqa: E402
from bot.alerts.service import AlertService, Wakeups  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.db import open_db  # noqa: E402
from bot.embedded_redis import free_port, start_redis  # noqa: E402
from bot.queue import arq_redis  # noqa: E402
from bot.rules.alerts import AlertsFile, load_alerts  # noqa: E402
from bot.rules.people import Directory, PeopleFile, load_people  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from models.alerts import Alert, AlertEvent, Notification, NotificationStatus  # noqa: E402
from scripts.benchkit import BenchError, process_cpu_s, progress, run_main, tail  # noqa: E402
from tests.fakes.providers import FakeProviders, run_fake_providers  # noqa: E402

KIND: Final = "complaint_unhandled"
SEED_PROVIDER: Final = "seed"  # notification rows the seeding wrote as already sent
SUPERVISORS: Final = ("主管甲", "主管乙")
MANAGERS: Final = ("经理甲", "经理乙")
STAFF_PREFIX: Final = "值班"
LATENESS_LIMIT_S: Final = 2.0
RSS_LIMIT_MB: Final = 300.0
CPU_LIMIT_MS: Final = 3.0  # worker CPU per step, its notifications' deliveries included
CORES: Final = os.cpu_count() or 1
# arq's INFO lines: "0.01s ← alert-step:12:3:alert_step ● 'escalated'", "0.01s ! alert-step:12:3:alert_step failed, …"
JOB_END: Final = re.compile(r"([←!]) (?:\S+:)?(\w+) (?:●|failed,)")
POLL_S: Final = 0.25  # how often the benchmark looks for committed steps
CHUNK: Final = 1000  # alerts seeded per transaction
ENQUEUERS: Final = 8  # concurrent schedulers (production opens alerts from many jobs at once)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    parts = [f"p{round(q * 100)} {pct(values, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99)]
    return f"{'  '.join(parts)}  max {max(values) * 1000:.0f} ms"


# -- the rules directory ----------------------------------------------------------------------------


def staff_names(count: int) -> list[str]:
    return [f"{STAFF_PREFIX}{n:03d}" for n in range(1, count + 1)]


def write_rules(rules: Path, args: argparse.Namespace) -> None:
    """A copy of rules/ with a generated people.yaml and alerts.yaml levels `gap_s` apart, no quiet hours."""
    shutil.copytree(ROOT / "rules", rules)
    # The shipped people stay (the rule examples name them); the alerts go only to the generated ones.
    people: list[dict[str, Any]] = yaml.safe_load((ROOT / "rules" / "people.yaml").read_text(encoding="utf-8"))[
        "people"
    ]
    names = [*staff_names(args.staff), *SUPERVISORS, *MANAGERS]
    for n, name in enumerate(names, start=1):
        role = "manager" if name in MANAGERS else "staff"
        people.append({"name": name, "role": role, "phone": f"139{n:08d}", "wecom_userid": f"bench{n:04d}"})
    (rules / "people.yaml").write_text(yaml.safe_dump({"people": people}, allow_unicode=True), encoding="utf-8")
    data = yaml.safe_load((ROOT / "rules" / "alerts.yaml").read_text(encoding="utf-8"))
    for n, level in enumerate(data["levels"]):
        level["after_minutes"] = n * args.gap_s / 60
        level["channels"] = [c for c in level["channels"] if c not in ("group_reminder", "worktool_group")]
    data.pop("quiet_hours", None)  # calls and SMS at any hour: the figures must not depend on the time of day
    data["supervisors"], data["escalation_list"] = list(SUPERVISORS), list(SUPERVISORS)
    (rules / "alerts.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_alerts(rules / "alerts.yaml")  # fails here, not in the worker, if the edit broke the file


def policies(rules: AlertsFile, people: PeopleFile, now: datetime, tz: ZoneInfo) -> list[Policy]:
    """One policy per staff member: the real snapshot with that one person on duty."""
    managers = tuple(p for p in people.people if p.name in MANAGERS)
    staff = [p for p in people.people if p.name.startswith(STAFF_PREFIX)]
    return [snapshot(rules, KIND, Directory.build((), PeopleFile(people=(p, *managers))), now, tz) for p in staff]


# -- seeding ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    level: int  # the level it was seeded at; the step raises it by one
    at: datetime


@dataclass
class Seeded:
    dues: dict[int, Due] = field(default_factory=dict)  # alert id -> its step
    notifications: int = 0
    seconds: float = 0.0
    enqueue_s: float = 0.0


def offset(policy: Policy, level: int) -> timedelta:
    return timedelta(minutes=policy.level(level).after_minutes)


def plan_alert(i: int, policy: Policy, due: datetime, run: str) -> tuple[Alert, int]:
    """Alert `i` as it stands when its step to the next level is due at `due`."""
    level = 1 + i % 3
    opened = due - offset(policy, level + 1)
    subject = f"{run}-{i}"
    alert = Alert(
        uid=uuid.uuid4().hex,
        kind=KIND,
        dedup_key=f"{KIND}:-:{subject}",
        open_key=f"{KIND}:-:{subject}",
        subject=subject,
        title=f"{policy.title} · 基准群{i % 300}",
        detail="我的订单一直没人处理，再不处理我就投诉了",
        level=level,
        max_level=level,
        escalation_count=level - 1,
        policy=policy.to_json(),
        opened_at=opened,
        last_fired_at=opened,
        escalated_at=opened + offset(policy, level) if level > 1 else None,
        next_escalation_at=due,
        step_token=level,  # one bump per raise
    )
    return alert, level


def history(
    alert: Alert, level: int, policy: Policy, directory: Directory, tz: ZoneInfo
) -> Iterator[AlertEvent | Notification]:
    """The events and (already sent) notifications of levels 1..`level`."""
    yield AlertEvent(alert_id=alert.id, at=alert.opened_at, action="opened", level=1, detail=alert.detail[:200])
    for lv in range(1, level + 1):
        at = alert.opened_at + offset(policy, lv)
        if lv > 1:
            yield AlertEvent(alert_id=alert.id, at=at, action="escalated", level=lv, detail=f"L{lv - 1}→L{lv}")
        for planned in plan_level(policy, lv, directory, at.astimezone(tz)):
            yield Notification(
                alert_id=alert.id,
                level=lv,
                channel=planned.channel,
                recipient=planned.recipient,
                target=target_of(planned.channel, planned.recipient, None, None),
                status=NotificationStatus.SENT,
                attempts=1,
                due_at=at,
                created_at=at,
                claimed_at=at,
                sent_at=at,
                batch=f"seed-{alert.id}-{lv}",
                provider=SEED_PROVIDER,
            )


async def seed(args: argparse.Namespace, settings: Settings, start: datetime, run: str) -> Seeded:
    rules = load_alerts(Path(settings.rules_dir) / "alerts.yaml")
    people = load_people(Path(settings.rules_dir) / "people.yaml")
    directory, tz = Directory.build((), people), ZoneInfo(settings.timezone)
    pols, seeded, began = policies(rules, people, start, tz), Seeded(), time.monotonic()
    spacing = timedelta(seconds=args.window / args.alerts)
    for first in range(0, args.alerts, CHUNK):
        planned = []
        for i in range(first, min(first + CHUNK, args.alerts)):
            policy, due = pols[i % len(pols)], start + i * spacing
            alert, level = plan_alert(i, policy, due, run)
            planned.append((alert, level, policy, due))
        await Alert.bulk_create([alert for alert, *_ in planned], batch_size=500)
        ids = dict(await Alert.filter(subject__in=[a.subject for a, *_ in planned]).values_list("subject", "id"))
        events: list[AlertEvent] = []
        rows: list[Notification] = []
        for alert, level, policy, due in planned:
            alert.id = int(ids[alert.subject])
            seeded.dues[alert.id] = Due(level, due)
            for row in history(alert, level, policy, directory, tz):
                if isinstance(row, AlertEvent):
                    events.append(row)
                else:
                    rows.append(row)
        await AlertEvent.bulk_create(events, batch_size=500)
        await Notification.bulk_create(rows, batch_size=500)
        seeded.notifications += len(rows)
        done = first + len(planned)
        if done % (5 * CHUNK) == 0 or done == args.alerts:
            progress(f"seeded {done:,}/{args.alerts:,} alerts ({seeded.notifications:,} sent notifications)")
    seeded.seconds = time.monotonic() - began
    return seeded


async def enqueue_steps(service: AlertService, seeded: Seeded) -> None:
    """One `schedule` per alert, as each opening or step does after its commit; a few at a time."""
    began, queue = time.monotonic(), list(seeded.dues.items())
    total, done = len(queue), 0

    async def scheduler() -> None:
        nonlocal done
        while queue:
            alert_id, due = queue.pop()
            await service.schedule(Wakeups(steps={alert_id: (due.level, due.at)}))
            done += 1
            if done % 5000 == 0:
                progress(f"enqueued {done:,}/{total:,} step jobs")

    await asyncio.gather(*(scheduler() for _ in range(ENQUEUERS)))
    seeded.enqueue_s = time.monotonic() - began


# -- arq's own lateness (the baseline) --------------------------------------------------------------


async def trivial(ctx: dict[str, Any], due_ts: float) -> None:
    lateness: list[float] = ctx["lateness"]
    lateness.append(time.time() - due_ts)
    if len(lateness) >= ctx["count"]:
        ctx["done"].set()


async def arq_baseline(settings: Settings, rate: float, seconds: float) -> list[float]:
    """Lateness of a do-nothing deferred job at `rate`/s, with the hub worker's poll delay and job limit."""
    count, lateness, done = max(10, int(rate * seconds)), list[float](), asyncio.Event()
    redis = arq_redis(settings.redis.url)
    queue = "bench:arq-baseline"
    worker = Worker(
        functions=[func(trivial, name="bench_trivial", keep_result=0)],
        queue_name=queue,
        redis_pool=redis,
        ctx={"lateness": lateness, "count": count, "done": done},
        handle_signals=False,
        max_jobs=settings.processing.max_jobs,
        poll_delay=settings.processing.poll_delay_s,
        keep_result=0,
    )
    first = time.time() + 1.0
    for n in range(count):
        due = first + n / rate
        await redis.enqueue_job("bench_trivial", due, _queue_name=queue, _defer_until=datetime.fromtimestamp(due, UTC))
    task = asyncio.create_task(worker.main())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), seconds + 30)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)  # jobs cut off by the cancel
    worker.tasks.clear()
    await worker.close()
    return lateness


# -- the worker processes ---------------------------------------------------------------------------


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return math.nan


@dataclass
class Workers:
    procs: list[subprocess.Popen[bytes]]
    logs: list[Path]
    peak_rss: dict[int, float] = field(default_factory=dict)  # sampled VmRSS

    @classmethod
    def spawn(cls, count: int, env: dict[str, str], tmp: Path) -> Workers:
        procs, logs = [], []
        for n in range(count):
            log = tmp / f"worker-{n + 1}.log"
            with log.open("wb") as out:  # own session: Ctrl-C reaches only us, and we stop the workers
                cmd = [sys.executable, "-m", "bot.cli", "worker"]
                procs.append(
                    subprocess.Popen(
                        cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
            logs.append(log)
        return cls(procs, logs)

    def check_alive(self) -> None:
        for proc, log in zip(self.procs, self.logs, strict=True):
            if proc.poll() is not None:
                raise BenchError(f"hub worker exited with {proc.returncode}:\n{tail(log)}")

    async def wait_started(self, timeout_s: float = 60) -> float:
        began = time.monotonic()
        while time.monotonic() < began + timeout_s:
            self.check_alive()
            if all("worker started" in log.read_text(errors="replace") for log in self.logs):
                return time.monotonic() - began
            await asyncio.sleep(0.1)
        raise BenchError(f"hub worker did not start within {timeout_s:g} s:\n{tail(self.logs[0])}")

    def rss(self) -> list[float]:
        values = [rss_mb(p.pid) for p in self.procs]
        for proc, value in zip(self.procs, values, strict=True):
            self.peak_rss[proc.pid] = max(self.peak_rss.get(proc.pid, 0.0), value)
        return values

    def hwm(self) -> list[float]:
        return [rss_mb(p.pid, "VmHWM") for p in self.procs]

    def cpu_s(self) -> float:
        return sum(process_cpu_s(p.pid) for p in self.procs)

    def stop(self) -> float:
        """SIGTERM all, SIGKILL after 30 s; returns the seconds until the last one exited."""
        began = time.monotonic()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return time.monotonic() - began


# -- watching the run -------------------------------------------------------------------------------


@dataclass
class Watch:
    """Committed steps as the benchmark first saw them in the database (the `escalated` events)."""

    seen: dict[int, float] = field(default_factory=dict)  # alert id -> wall clock when first seen
    last_event: int = 0

    async def poll(self) -> None:
        rows = await (
            AlertEvent.filter(id__gt=self.last_event, action="escalated").order_by("id").values_list("id", "alert_id")
        )
        now = time.time()
        for event_id, alert_id in rows:
            self.seen.setdefault(int(alert_id), now)
            self.last_event = max(self.last_event, int(event_id))


async def every(seconds: float, action: Callable[[], Awaitable[None]]) -> None:
    while True:
        await action()
        await asyncio.sleep(seconds)


async def watch_run(args: argparse.Namespace, seeded: Seeded, workers: Workers, start: datetime, watch: Watch) -> None:
    """Until every step was seen, or `settle_s` after the window when some never ran; progress every 5 s."""
    start_ts, total = start.timestamp(), len(seeded.dues)
    due_ts = sorted(d.at.timestamp() for d in seeded.dues.values())
    next_report = start_ts + 5
    while True:
        now = time.time()
        workers.check_alive()
        rss = workers.rss()
        if now >= next_report:
            due_now = sum(1 for ts in due_ts if ts <= now)
            late = sum(1 for aid, ts in watch.seen.items() if ts - seeded.dues[aid].at.timestamp() > LATENESS_LIMIT_S)
            progress(
                f"t={now - start_ts:+5.0f} s: {len(watch.seen):,} of {due_now:,} due steps committed "
                f"({late:,} later than {LATENESS_LIMIT_S:g} s); worker RSS {' / '.join(f'{r:.0f}' for r in rss)} MB"
            )
            next_report += 5
        if len(watch.seen) >= total or now > start_ts + args.window + args.settle_s:
            return
        await asyncio.sleep(0.5)


# -- results ----------------------------------------------------------------------------------------


@dataclass
class Results:
    lateness: list[float] = field(default_factory=list)  # escalated_at - due, per executed step
    visible: list[float] = field(default_factory=list)  # first seen committed - due
    missed: int = 0
    twice: int = 0
    notes: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    duplicate_rows: int = 0
    calls: int = 0
    batches: int = 0
    calls_without_row: int = 0
    batches_without_call: int = 0
    repeated_calls: int = 0
    in_doubt: int = 0  # rows left sending/unknown (a send that may or may not have gone out)


@dataclass
class Figures:
    arq: list[float]  # the baseline: lateness of a trivial deferred job
    ready_s: float = math.nan  # from spawning the workers to "worker started"
    idle_rss: float = math.nan  # MB, just before the first step is due
    peak_rss: float = math.nan  # MB, the highest VmRSS sampled (every 0.5 s)
    hwm: float = math.nan  # MB, VmHWM at the end
    load_s: float = math.nan  # from the first due step to the end of the measurement
    redis_commands: int = 0  # Redis commands processed over load_s (arq's job protocol, enqueues, send limits)
    worker_cpu_s: float = math.nan  # the workers' CPU time over load_s
    bench_cpu_s: float = math.nan  # this process's (the fake providers, the poller) over load_s
    jobs: Counter[str] = field(default_factory=Counter)  # jobs ended per function (arq's INFO log lines)
    failed_jobs: int = 0
    held: int = 0  # deliveries the send limits put off (each re-queues its rows and enqueues a job)
    stop_s: float = math.nan
    run_s: float = math.nan
    load_before: float = math.nan  # the box's 1-minute load average (others' work shares the cores)
    load_after: float = math.nan


async def collect(seeded: Seeded, start: datetime, watch: Watch, fakes: FakeProviders) -> Results:
    res, ids = Results(), list(seeded.dues)
    events = await AlertEvent.filter(alert_id__in=ids, action="escalated").values_list("alert_id", "level")
    steps = Counter(int(a) for a, level in events if int(level) > seeded.dues[int(a)].level)
    for alert_id, level, escalated_at in await Alert.filter(id__in=ids).values_list("id", "level", "escalated_at"):
        due = seeded.dues[int(alert_id)]
        if int(level) == due.level:
            res.missed += 1
            continue
        res.twice += steps[int(alert_id)] > 1
        res.lateness.append((escalated_at - due.at).total_seconds())
        if int(alert_id) in watch.seen:
            res.visible.append(watch.seen[int(alert_id)] - due.at.timestamp())
    fresh = await Notification.filter(alert_id__in=ids, created_at__gte=start).values_list(  # the seeded rows are older
        "alert_id", "level", "channel", "recipient", "status", "batch", "provider_id"
    )
    keys = Counter((a, lv, c, r) for a, lv, c, r, *_ in fresh)
    res.duplicate_rows = sum(n - 1 for n in keys.values() if n > 1)
    res.statuses = Counter(str(row[4]) for row in fresh)
    sent = {NotificationStatus.SENT, NotificationStatus.DELIVERED}
    batches: dict[str, set[str | None]] = {}  # batch -> the provider ids its rows were sent under
    for *_, status, batch, provider_id in fresh:
        if status in sent and batch is not None:
            batches.setdefault(str(batch), set()).add(provider_id)
        res.in_doubt += status in (NotificationStatus.SENDING, NotificationStatus.UNKNOWN)
    # The group webhook answers without an id (and @-mentions in a second, text message): counted, not matched.
    calls = [*fakes.wecom.calls, *fakes.aliyun.calls, *fakes.tencent.calls]
    webhook_calls = sum(1 for c in calls if c.provider_id is None and c.params.get("msgtype") == "markdown")
    call_ids = Counter(c.provider_id for c in calls if c.provider_id is not None)
    row_ids = {pid for pids in batches.values() for pid in pids if pid is not None}
    webhook_batches = sum(1 for pids in batches.values() if pids == {None})
    res.calls, res.batches = sum(call_ids.values()) + webhook_calls, len(batches)
    res.repeated_calls = sum(n - 1 for n in call_ids.values() if n > 1)
    res.calls_without_row = sum(1 for pid in call_ids if pid not in row_ids) + max(0, webhook_calls - webhook_batches)
    res.batches_without_call = sum(1 for pids in batches.values() if len(pids) != 1 or not pids <= {*call_ids, None})
    res.batches_without_call += max(0, webhook_batches - webhook_calls)
    return res


def report(args: argparse.Namespace, seeded: Seeded, res: Results, fig: Figures) -> bool:
    n, rate = len(seeded.dues), len(seeded.dues) / args.window
    p99 = pct(res.lateness, 0.99)
    cpu_ms = fig.worker_cpu_s * 1000 / len(res.lateness) if res.lateness else math.nan
    over = sum(1 for v in res.lateness if v > LATENESS_LIMIT_S)
    jobs = ", ".join(f"{name} {count:,}" for name, count in fig.jobs.most_common()) or "not logged (level above INFO)"
    levels = Counter(d.level for d in seeded.dues.values())
    st = res.statuses
    pending = st[NotificationStatus.PENDING]
    rows = [
        (
            f"\n== alert benchmark: {n:,} open alerts, one step each due over {args.window:g} s ({rate:.0f}/s), "
            f"{args.workers} worker(s), gather {args.gather_s:g} s, "
            f"send limits {'config.yaml' if args.send_limit is None else f'{args.send_limit}/min'}, sqlite =="
        ),
        (
            f"seeded: {n:,} alerts at L1/L2/L3 {levels[1]:,}/{levels[2]:,}/{levels[3]:,} with "
            f"{seeded.notifications:,} sent notification rows in {seeded.seconds:.1f} s; {n:,} step jobs "
            f"enqueued in {seeded.enqueue_s:.1f} s; worker ready in {fig.ready_s:.1f} s"
        ),
        f"baseline: arq trivial deferred job at {rate:.0f}/s:  {spread(fig.arq)}  (n={len(fig.arq)})",
        f"step lateness (escalated_at - due):  {spread(res.lateness)}  (n={len(res.lateness):,})",
        (
            f"  later than {LATENESS_LIMIT_S:g} s: {over:,}; missed (still at its level): {res.missed:,}; "
            f"stepped twice: {res.twice:,}"
        ),
        f"  committed, as first seen in the database ({POLL_S:g} s poll):  {spread(res.visible)}",
        (
            f"notifications written by the steps: {sum(st.values()):,} (sent {st[NotificationStatus.SENT]:,}, "
            f"pending {pending:,} (gathering or held by send limits), failed {st[NotificationStatus.FAILED]:,}, "
            f"skipped {st[NotificationStatus.SKIPPED]:,}, sending/unknown {res.in_doubt:,})"
        ),
        (
            f"exactly once: {res.calls:,} accepted provider calls, {res.batches:,} sent batches; duplicate rows "
            f"{res.duplicate_rows}, calls without a row {res.calls_without_row}, batches without a call "
            f"{res.batches_without_call}, calls repeated {res.repeated_calls}"
        ),
        (
            f"worker RSS: idle {fig.idle_rss:.0f} MB after start; peak sampled {fig.peak_rss:.0f} MB, "
            f"VmHWM {fig.hwm:.0f} MB (target < {RSS_LIMIT_MB:g} MB)"
        ),
        (
            f"worker CPU: {fig.worker_cpu_s:.1f} s in {fig.load_s:.0f} s of load "
            f"({fig.worker_cpu_s / fig.load_s:.0%} of one core; this process, with the fake providers: "
            f"{fig.bench_cpu_s:.1f} s)"
        ),
        (
            f"  per step: {cpu_ms:.2f} ms of worker CPU, its deliveries included "
            f"({len(res.lateness):,} steps, {res.calls:,} provider calls; target <= {CPU_LIMIT_MS:g} ms)"
        ),
        f"box: 1-minute load average {fig.load_before:.2f} before the steps, {fig.load_after:.2f} after, {CORES} cores",
        f"  jobs run: {jobs}; failed (an exception) {fig.failed_jobs:,}; deliveries held by a send limit: {fig.held:,}",
        (
            f"  Redis commands: {fig.redis_commands:,} ({fig.redis_commands / fig.load_s:,.0f}/s, "
            f"{fig.redis_commands / max(1, sum(fig.jobs.values())):.1f} per job)"
        ),
        f"run time: {fig.run_s:.0f} s (stopping the worker took {fig.stop_s:.1f} s)",
        *(f"note: {note}" for note in res.notes),
    ]
    verdicts = {
        f"step lateness p99 < {LATENESS_LIMIT_S:g} s": p99 < LATENESS_LIMIT_S,
        "every due step ran, none twice": res.missed == 0 and res.twice == 0 and bool(res.lateness),
        "exactly once: one provider call per sent batch, no duplicate": (
            res.duplicate_rows == 0
            and res.calls_without_row == 0
            and res.batches_without_call == 0
            and res.repeated_calls == 0
            and res.calls == res.batches
        ),
        f"worker peak RSS < {RSS_LIMIT_MB:g} MB": max(fig.hwm, fig.peak_rss) < RSS_LIMIT_MB,
        f"worker CPU per step <= {CPU_LIMIT_MS:g} ms": cpu_ms <= CPU_LIMIT_MS,
    }
    rows += [f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in verdicts.items()]
    print("\n".join(rows), flush=True)
    return all(verdicts.values())


def read_logs(logs: list[Path], fig: Figures) -> list[str]:
    """Jobs finished and deliveries held, from the workers' logs; errors logged become notes."""
    notes = []
    for log in logs:
        bad = []
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if (job := JOB_END.search(line)) is not None:
                fig.jobs[job[2]] += 1
                fig.failed_jobs += job[1] == "!"
            elif "alert delivery held by the send limit" in line:
                fig.held += 1
            elif "[error" in line or "Traceback" in line or line.startswith(("ERROR", "CRITICAL")):
                bad.append(line)
        notes += [f"{log.name}: {len(bad)} error lines; first: {bad[0][:300]}"] if bad else []
    return notes


# -- the run ----------------------------------------------------------------------------------------


def hub_env(tmp: Path, redis_url: str, fakes: FakeProviders, args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    env |= {
        "HUB__DATABASE__URL": f"sqlite://{tmp}/bench.sqlite3",
        "HUB__REDIS__URL": redis_url,
        "HUB__REDIS__EMBEDDED": "false",
        "HUB__DATA_DIR": str(tmp / "data"),
        "HUB__RULES_DIR": str(tmp / "rules"),
        "HUB__ALERTS__GATHER_S": str(args.gather_s),
        **(
            {
                "HUB__ALERTS__WECOM__PER_MEMBER_PER_MINUTE": str(args.send_limit),
                "HUB__ALERTS__WEBHOOK__PER_MINUTE": str(args.send_limit),
                "HUB__ALERTS__VOICE_PER_CALLEE_PER_MINUTE": str(args.send_limit),
            }
            if args.send_limit is not None
            else {}
        ),
        "HUB__LOGGING__LEVEL": args.log_level,
        # The daily report (made at start-up) would post to the same fake webhook: not an alert, so not sent.
        "HUB__REPORTS__DELIVER_VIA": "[]",
        **fakes.env(),
    }
    return env


def migrate(env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "bot.cli", "migrate"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise BenchError(f"hub migrate failed ({done.returncode}):\n{(done.stdout + done.stderr)[-2000:]}")


async def redis_commands(redis: Redis) -> int:
    return int((await redis.info("stats"))["total_commands_processed"])


async def measure(
    args: argparse.Namespace, seeded: Seeded, workers: Workers, start: datetime, *, fig: Figures, redis: Redis
) -> Watch:
    """From the first due step until every step was seen (or the settle time ran out)."""
    fig.ready_s = await workers.wait_started()
    left = start.timestamp() - time.time()
    if left < 1:
        raise BenchError(f"the set-up overran the first due step by {1 - left:.1f} s; raise --lead-s")
    await asyncio.sleep(left - 0.5)
    fig.idle_rss = max(workers.rss())
    progress(f"idle worker RSS {fig.idle_rss:.0f} MB; steps start now, for {args.window:g} s")
    cpu_before, bench_before, load_began = workers.cpu_s(), time.process_time(), time.monotonic()
    fig.load_before = os.getloadavg()[0]
    commands_before = await redis_commands(redis)
    last = await AlertEvent.all().order_by("-id").first()
    watch = Watch(last_event=last.id if last is not None else 0)  # the seeded events are not steps
    poller = asyncio.create_task(every(POLL_S, watch.poll))
    try:
        await watch_run(args, seeded, workers, start, watch)
        await asyncio.sleep(args.gather_s + 2)  # the last steps' deliveries
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
    fig.load_s, fig.worker_cpu_s = time.monotonic() - load_began, workers.cpu_s() - cpu_before
    fig.load_after = os.getloadavg()[0]
    fig.bench_cpu_s = time.process_time() - bench_before
    fig.redis_commands = await redis_commands(redis) - commands_before
    fig.peak_rss, fig.hwm = max(workers.peak_rss.values()), max(workers.hwm())
    return watch


async def bench(args: argparse.Namespace, tmp: Path, redis_url: str, stack: contextlib.ExitStack) -> bool:
    began = time.monotonic()
    write_rules(tmp / "rules", args)
    async with run_fake_providers() as fakes:
        env = hub_env(tmp, redis_url, fakes, args)
        progress("migrating the database...")
        await asyncio.to_thread(migrate, env)
        settings = load_settings(ROOT / "config.yaml", environ=env)
        rate = args.alerts / args.window
        progress(f"baseline: arq's lateness for a trivial deferred job at {rate:.0f}/s for {args.baseline_s:g} s...")
        fig = Figures(await arq_baseline(settings, rate, args.baseline_s))
        # The first step is due `lead_s` from now: seeding, enqueueing and the worker's start fit before it.
        start = datetime.now(UTC) + timedelta(seconds=args.lead_s)
        async with open_db(settings.database.url):
            progress(f"seeding {args.alerts:,} open alerts; the first step is due in {args.lead_s:.0f} s...")
            seeded = await seed(args, settings, start, f"b{int(time.time())}")
            redis = arq_redis(settings.redis.url)
            service = AlertService(settings, Directory.build((), PeopleFile()), AlertsFile, redis, SystemClock())
            progress(f"enqueueing {len(seeded.dues):,} step jobs (AlertService.schedule, {ENQUEUERS} at a time)...")
            await enqueue_steps(service, seeded)
            progress(f"starting {args.workers} hub worker(s)...")
            workers = Workers.spawn(args.workers, env, tmp)
            stack.callback(workers.stop)  # also when this loop is torn down by an interrupt
            try:
                watch = await measure(args, seeded, workers, start, fig=fig, redis=redis)
            finally:
                fig.stop_s = await asyncio.to_thread(workers.stop)
                await redis.aclose()
            progress("collecting the results...")
            res = await collect(seeded, start, watch, fakes)
            res.notes += read_logs(workers.logs, fig)
    fig.run_s = time.monotonic() - began
    return report(args, seeded, res, fig)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="WorkTool Hub alert benchmark (step lateness, exactly once, RSS)")
    parser.add_argument("--alerts", type=int, default=10_000, help="open alerts, one step each in the window")
    parser.add_argument(
        "--window", type=float, default=300.0, help="seconds over which the steps fall due (60: a 167/s storm)"
    )
    parser.add_argument("--workers", type=int, default=1, help="hub worker processes")
    parser.add_argument("--staff", type=int, default=50, help="staff members the alerts are spread over")
    parser.add_argument("--gather-s", type=float, default=0.5, help="alerts.gather_s for the worker")
    parser.add_argument("--lead-s", type=float, help="seconds from the start of seeding to the first due step")
    parser.add_argument("--settle-s", type=float, default=60.0, help="how long to wait for late steps after the window")
    parser.add_argument("--baseline-s", type=float, default=5.0, help="seconds of the arq trivial-job baseline")
    parser.add_argument(
        "--send-limit",
        type=int,
        help="sends per target and minute for every channel (default: config.yaml's; a high one delivers every row)",
    )
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.add_argument("--keep", type=Path, help="copy the database and the worker logs here at the end")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 alerts over 15 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.alerts, args.window, args.settle_s, args.baseline_s = 1000, 15.0, 40.0, 2.0
    if args.alerts < 1 or args.window <= 0:
        parser.error("--alerts and --window must be positive")
    if args.lead_s is None:  # seeding ≈ 1,000 alerts/s, enqueueing ≈ 10,000/s, a worker starts in 2-7 s (box load)
        args.lead_s = 10 + args.alerts / (600 if args.quick else 400)
    args.gap_s = args.window + args.settle_s + 60  # levels this far apart: each alert takes one step in the run
    return args


def keep(tmp: Path, where: Path | None) -> None:
    """`--keep`: the database and the worker logs outlive the temp dir (to look into a failed run)."""
    if where is None:
        return
    where.mkdir(parents=True, exist_ok=True)
    for path in [*tmp.glob("*.log"), *tmp.glob("bench.sqlite3*")]:
        shutil.copy2(path, where / path.name)
    progress(f"kept the database and the worker logs in {where}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body(tmp: Path, stack: contextlib.ExitStack) -> bool:
        progress("starting redis...")
        redis = start_redis(free_port())
        stack.callback(redis.stop)
        stack.callback(keep, tmp, args.keep)
        return asyncio.run(bench(args, tmp, redis.url, stack))

    return run_main("bench_alerts", body)


if __name__ == "__main__":
    sys.exit(main())
