"""Console benchmark (DESIGN §6: console pages < 2 s with 100,000 messages): seeds a throwaway database with
`--messages` messages (default 100,000) in 500 conversations, `--alerts` alerts (default 10,000; a fifth open,
each with its events and notifications), after-sales tasks and the bot's replies, then loads every console page
`--loads` times as a logged-in admin through the real app (aiohttp test server in this process, a throwaway
Redis) and prints p50 and max per page. SQLite always; PostgreSQL too with `--postgres` (a throwaway cluster).

Usage: `python scripts/bench_console.py [--quick] [--messages N] [--alerts N] [--loads N] [--postgres]`.
Exit 1 when a page's max is over `--limit-s` (2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from bot.accounts import passwords  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.console.daily import forget_cached_days  # noqa: E402
from bot.db import migrate, open_db  # noqa: E402
from bot.embedded_redis import free_port, start_redis  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from bot.throwaway_postgres import start_postgres  # noqa: E402
from models.accounts import Account  # noqa: E402
from models.alerts import Alert, AlertEvent, AlertStatus, CancelReason, Notification, NotificationStatus  # noqa: E402
from models.commands import Command, CommandStatus  # noqa: E402
from models.conversations import Conversation  # noqa: E402
from models.messages import InboundMessage, ProcessingState  # noqa: E402
from models.tasks import AfterSalesTask, TaskStatus  # noqa: E402
from scripts.benchkit import progress, run_main  # noqa: E402

PASSWORD: Final = "bench-console-0123456789"
CSRF: Final = re.compile(r'name="csrf_token" value="([^"]+)"')
TYPES: Final = ("chat_daily", "chat_after_sales", "chat_complaint", "chat_other", "staff_reply_user")
TEXTS: Final = ("您好，请问怎么登录", "二维码过期了扫不了", "怎么还没人处理，我要投诉", "好的谢谢", "马上为您处理")
BATCH: Final = 2000
Row = tuple[str, float, float, int]  # page, p50 s, max s, bytes


@dataclass(frozen=True)
class Sizes:
    messages: int
    alerts: int
    conversations: int = 500
    loads: int = 5


async def seed(sizes: Sizes) -> dict[str, int]:
    """Rows straight through the ORM in batches; returns ids the page list needs."""
    rng = random.Random(14)
    now = datetime.now(UTC)
    start = now - timedelta(days=7)
    convs = [
        Conversation(
            kind="group" if i % 5 else "private",
            key=f"bench-{i}",
            name=f"客户群{i}" if i % 5 else f"用户{i}",
            created_at=start,
            last_message_at=now - timedelta(minutes=i),
            processed_upto=0,
        )
        for i in range(sizes.conversations)
    ]
    await Conversation.bulk_create(convs, batch_size=BATCH)
    conv_ids = [c.id for c in await Conversation.all().order_by("id")]
    busiest = conv_ids[1]  # a group: a fifth of all messages
    step = (now - start) / max(sizes.messages, 1)
    rows: list[InboundMessage] = []
    for n in range(sizes.messages):
        cid = busiest if n % 5 == 0 else conv_ids[rng.randrange(len(conv_ids))]
        kind = n % len(TYPES)
        staff = TYPES[kind] == "staff_reply_user"
        rows.append(
            InboundMessage(
                conversation_id=cid,
                robot_id="wt-robot-1",
                sender_name="客服小王" if staff else f"用户{n % 300}",
                text=TEXTS[kind] + f" #{n}",
                raw_text=TEXTS[kind],
                content_hash=uuid.uuid4().hex[:16],
                received_at=start + step * n,
                payload={},
                state=ProcessingState.PROCESSED,
                processed_at=start + step * n,
                sender_role="staff" if staff else "user",
                type=TYPES[kind],
                type_confidence=0.8,
                type_reason="bench",
                is_staff_intervention=staff,
                intervention_case="staff_took_over" if staff else "no_staff_needed",
            )
        )
        if len(rows) == BATCH:
            await InboundMessage.bulk_create(rows)
            rows = []
            if n % 20_000 < BATCH:
                progress(f"messages: {n + 1:,}")
    if rows:
        await InboundMessage.bulk_create(rows)
    commands = [
        Command(
            idempotency_key=f"bench-{n}",
            reply_key=f"bench-{n}",
            robot_id="wt-robot-1",
            conversation_id=busiest if n % 2 else conv_ids[n % len(conv_ids)],
            purpose="reply",
            type=203,
            target="bench",
            content="已收到，正在处理",
            status=CommandStatus.SUCCEEDED,
            created_at=start + (now - start) * n / max(sizes.messages // 10, 1),
            sent_at=start + (now - start) * n / max(sizes.messages // 10, 1),
        )
        for n in range(sizes.messages // 10)
    ]
    await Command.bulk_create(commands, batch_size=BATCH)
    policy: dict[str, object] = {"levels": [{"name": f"{k}级"} for k in range(1, 5)]}
    alerts = []
    for n in range(sizes.alerts):
        opened = start + (now - start) * n / max(sizes.alerts, 1)
        is_open = n % 5 == 0
        key = f"complaint_unhandled:{conv_ids[n % len(conv_ids)]}:用户{n}"
        alerts.append(
            Alert(
                uid=uuid.uuid4().hex,
                kind="complaint_unhandled",
                dedup_key=key,
                open_key=key if is_open else None,
                conversation_id=conv_ids[n % len(conv_ids)],
                subject=f"用户{n}",
                title="用户投诉未处理",
                level=1 + n % 3,
                max_level=1 + n % 3,
                status=AlertStatus.OPEN if is_open else AlertStatus.CANCELLED,
                policy=policy,
                opened_at=opened,
                last_fired_at=opened,
                next_escalation_at=opened + timedelta(minutes=5) if is_open else None,
                cancel_reason=None if is_open else CancelReason.STAFF_INTERVENED,
                cancelled_at=None if is_open else opened + timedelta(minutes=3),
            )
        )
    await Alert.bulk_create(alerts, batch_size=BATCH)
    alert_ids = list(await Alert.all().order_by("id").values_list("id", flat=True))
    events = [AlertEvent(alert_id=a, at=now, action="opened", level=1) for a in alert_ids]
    await AlertEvent.bulk_create(events, batch_size=BATCH)
    notes = [
        Notification(
            alert_id=a,
            level=1,
            channel=channel,
            recipient="客服小王",
            target="客服小王",
            status=NotificationStatus.SENT,
            due_at=now,
            created_at=now,
        )
        for a in alert_ids
        for channel in ("wecom_app", "group_reminder")
    ]
    await Notification.bulk_create(notes, batch_size=BATCH)
    statuses = list(TaskStatus)
    tasks = [
        AfterSalesTask(
            uid=uuid.uuid4().hex,
            conversation_id=conv_ids[n % len(conv_ids)],
            user=f"用户{n}",
            task_type=("登录", "扫码", "验证码")[n % 3],
            status=statuses[n % len(statuses)],
            assignee=("售后小李", "售后小张", None)[n % 3],
            created_at=now - timedelta(hours=n % 48),
            updated_at=now,
            completed_at=now - timedelta(hours=n % 24) if statuses[n % len(statuses)] == TaskStatus.COMPLETED else None,
        )
        for n in range(sizes.alerts // 2)
    ]
    await AfterSalesTask.bulk_create(tasks, batch_size=BATCH)
    return {"busiest": busiest, "alert": alert_ids[len(alert_ids) // 2], "oldest_page": 0}


async def log_in(client: TestClient[Any, Any]) -> None:
    page = await (await client.get("/login")).text()
    found = CSRF.search(page)
    assert found is not None
    data = {"csrf_token": found.group(1), "name": "bench-admin", "password": PASSWORD, "next": "/board"}
    answer = await client.post("/login", data=data, allow_redirects=False)
    if answer.status != 303:
        raise RuntimeError(f"login failed: {answer.status}")


async def time_pages(settings: Settings, ids: dict[str, int], loads: int) -> list[Row]:
    forget_cached_days()  # the report page keeps a day's figures per process: each database computes its own
    app = create_app(settings)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    pages = [
        "/board",
        "/board/tasks?status=all",
        "/alerts",
        "/alerts?status=all",
        "/alerts?status=cancelled&level=2",
        f"/alerts/{ids['alert']}",
        "/conversations/group",
        "/conversations/group?q=客户群4",
        "/conversations/private",
        f"/conversations/{ids['busiest']}",
        "/robots",
        f"/reports?date={yesterday}",
        "/rules",
        f"/conversations/{ids['busiest']}/export.csv",
    ]
    results = []
    async with TestClient(TestServer(app)) as client:
        await log_in(client)
        body = await (await client.get(f"/conversations/{ids['busiest']}")).text()
        older = re.search(r"before=(\d+)", body)
        if older:
            pages.insert(-1, f"/conversations/{ids['busiest']}?before={older.group(1)}")
        for path in pages:
            times, size = [], 0
            for _ in range(loads):
                started = time.perf_counter()
                answer = await client.get(path)
                content = await answer.read()
                times.append(time.perf_counter() - started)
                if answer.status != 200:
                    raise RuntimeError(f"{path}: HTTP {answer.status}: {content[:300]!r}")
                size = len(content)
            results.append((path, statistics.median(times), max(times), size))
    return results


async def bench_database(
    db_url: str, redis_url: str, data_dir: Path, sizes: Sizes
) -> list[tuple[str, float, float, int]]:
    await migrate(db_url)
    async with open_db(db_url):
        started = time.perf_counter()
        ids = await seed(sizes)
        digest = await passwords.hash_password(PASSWORD, "insecure_fast_for_tests")
        now = datetime.now(UTC)
        await Account.create(
            name="bench-admin",
            role="admin",
            password_hash=digest,
            must_change_password=False,
            created_at=now,
            password_set_at=now,
        )
        progress(f"seeded in {time.perf_counter() - started:.1f} s")
    env = {"HUB__DATABASE__URL": db_url, "HUB__REDIS__URL": redis_url, "HUB__DATA_DIR": str(data_dir)}
    settings = load_settings(ROOT / "config.yaml", environ=env)
    worktool = settings.worktool.model_copy(update={"callback_token": SecretStr("bench-callback-token-0123456789")})
    console = settings.console.model_copy(
        update={"password_hashing": "insecure_fast_for_tests", "session_secret": SecretStr("b" * 40)}
    )
    settings = settings.model_copy(update={"worktool": worktool, "console": console})
    return await time_pages(settings, ids, sizes.loads)


def report(name: str, sizes: Sizes, rows: list[Row], limit_s: float) -> bool:
    print(f"== console pages on {name}: {sizes.messages:,} messages, {sizes.alerts:,} alerts, {sizes.loads} loads each")
    print(f"{'page':<58} {'p50 ms':>8} {'max ms':>8} {'bytes':>10}")
    ok = True
    for path, p50, worst, size in rows:
        download = path.endswith(".csv")  # a file streamed as it is read, not a page: shown, not judged
        flag = "  (download)" if download else "" if worst < limit_s else "  OVER"
        ok = ok and (download or worst < limit_s)
        print(f"{path:<58} {p50 * 1000:>8.0f} {worst * 1000:>8.0f} {size:>10,}{flag}")
    print(("PASS" if ok else "FAIL") + f"  every page under {limit_s:g} s")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--limit-s", type=float, default=2.0)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL cluster")
    parser.add_argument("--quick", action="store_true", help="500 messages, 50 alerts, 1 load (a smoke run)")
    args = parser.parse_args()
    sizes = Sizes(500, 50, 20, 1) if args.quick else Sizes(args.messages, args.alerts, loads=args.loads)

    def body(tmp: Path, stack: contextlib.ExitStack) -> bool:
        redis = start_redis(free_port())
        stack.callback(redis.stop)
        ok = True
        targets = [("SQLite", f"sqlite://{tmp / 'bench.sqlite3'}")]
        if args.postgres:
            cluster = start_postgres()
            stack.callback(cluster.stop)
            cluster.psql("CREATE DATABASE bench")
            targets.append(("PostgreSQL", cluster.url("bench")))
        for name, url in targets:
            progress(f"{name}: seeding {sizes.messages:,} messages and {sizes.alerts:,} alerts")
            rows = asyncio.run(bench_database(url, redis.url, tmp, sizes))
            ok = report(name, sizes, rows, args.limit_s) and ok
        return ok

    return run_main("bench_console", body)


if __name__ == "__main__":
    sys.exit(main())
