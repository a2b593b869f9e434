"""Worker benchmark: how fast one (or two) `hub worker` processes drain a backlog of realistic messages.

Per database (SQLite in the temp dir, and PostgreSQL with `--db-url` or `--postgres` for a throwaway
cluster): a throwaway Redis, `hub migrate`, then `hub serve` alone ingests `--messages` realistic callbacks
(300 groups, users and staff, @-mentions, complaints, after-sales requests, private operations: texts from
the labelled rule corpus) and stops. Then, for every worker count in `--workers` (and with `--base REV`
for the code at REV too, extracted with `git archive`, so before and after come from the same run), a fresh
copy of that database gets the worker(s) started idle (the sweeper held off), their CPU read, the
conversations enqueued at once, and the pending count polled until zero. Reported: messages/s, worker CPU
(user + system, from /proc) per message, and the rule engine alone on the same messages in this process
(classification with context, and the intervention judgement: the floor).
Targets: <= 1 ms of worker CPU per message, >= 1,000 messages/s with one worker.
Usage: `python scripts/bench_worker.py [--quick] [--messages N] [--workers 1,2] [--postgres | --db-url URL]
[--base REV]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import aiohttp

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.embedded_redis import free_port, start_redis  # noqa: E402
from scripts.bench_ingest import GROUPS, REMARKS, ROBOT1, ROBOT1_NAME, SENDERS, fetch, stop, wait_healthy  # noqa: E402
from scripts.benchkit import BenchError, process_cpu_s, progress, run_main, tail  # noqa: E402

CORPUS: Final = ROOT / "tests" / "fixtures" / "rules" / "dev-messages.jsonl"
STAFF: Final = {"staff": ["售后小王", "售后小李"], "operator": ["运营阿杰"], "manager": ["张经理"]}
PENDING_SQL: Final = "SELECT count(*) FROM inbound_messages WHERE state = 'pending'"
TOTAL_SQL: Final = "SELECT count(*) FROM inbound_messages"
CONVERSATIONS_SQL: Final = "SELECT DISTINCT conversation_id FROM inbound_messages WHERE state = 'pending'"
MESSAGES_SQL: Final = "SELECT conversation_id, sender_name, text, received_at FROM inbound_messages ORDER BY id"
# What a user says, by share of the mix (the labelled corpus's types); the rest of the mix is staff.
USER_SHARE: Final = 0.8
USER_MIX: Final = {
    "ordinary": (0.72, {"chat_daily", "chat_other", "chat_cooperation", "chat_complain_discuss", "chat_response"}),
    "complaint": (0.10, {"chat_complaint"}),
    "after_sales": (0.12, {"chat_after_sales"}),
    "private_operation": (0.06, {"chat_private_operation"}),
}


def corpus() -> dict[str, list[tuple[str, str]]]:
    """Texts by pool: the user pools of USER_MIX, and staff/operator/manager texts by role."""
    pools: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        role, text = row["sender_role"], row["text"]
        if role == "user":
            for pool, (_, types) in USER_MIX.items():
                if row["type"] in types and (row["intervention"] != "needs_staff_now" or pool != "ordinary"):
                    pools[pool].append((role, text))
        elif role in STAFF:
            pools["staff"].append((role, text))
    return pools


def callbacks(count: int, seed: int, prefix: str) -> list[bytes]:
    """`count` callbacks over the 300 groups; a third of the user messages @ the robot."""
    rng, pools = random.Random(seed), corpus()
    weights = [share for share, _ in USER_MIX.values()]
    out = []
    for n in range(count):
        g = rng.randrange(len(GROUPS))
        if rng.random() < USER_SHARE:
            pool = rng.choices(list(USER_MIX), weights)[0]
            _, text = rng.choice(pools[pool])
            sender, at_me = SENDERS[(g * 7 + rng.randrange(6)) % len(SENDERS)], rng.random() < 1 / 3
        else:
            role, text = rng.choice(pools["staff"])
            sender, at_me = rng.choice(STAFF[role]), False
        body = {
            "spoken": text,
            "rawSpoken": f"@{ROBOT1_NAME} {text}" if at_me else text,
            "receivedName": sender,
            "groupName": GROUPS[g],
            "groupRemark": REMARKS[g],
            "roomType": 1,
            "atMe": at_me,
            "textType": 1,
            "messageId": f"{prefix}-{n}",
        }
        out.append(json.dumps(body, ensure_ascii=False).encode())
    return out


async def post_all(url: str, bodies: list[bytes], connections: int = 16) -> int:
    """Post in order per connection; returns how many were answered 2xx."""
    queue: deque[bytes] = deque(bodies)
    ok = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal ok
        while queue:
            body = queue.popleft()
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
                await resp.read()
                ok += resp.status < 300

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
        await asyncio.gather(*(client(session) for _ in range(connections)))
    return ok


@dataclass(frozen=True)
class Drain:
    label: str
    workers: int
    messages: int
    seconds: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else math.nan

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s * 1000 / self.messages if self.messages else math.nan


@dataclass(frozen=True)
class Floor:
    messages: int
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.messages / self.cpu_s if self.cpu_s else math.nan


class Database:
    """The ingested database and fresh copies of it (a file copy; PostgreSQL: CREATE DATABASE ... TEMPLATE)."""

    def __init__(self, tmp: Path, pg_url: str | None) -> None:
        self.tmp, self.pg_url, self.copies = tmp, pg_url, 0
        self.name = "sqlite" if pg_url is None else "postgresql"
        self.url = f"sqlite://{tmp}/ingested.sqlite3" if pg_url is None else self._pg_db("bench_ingested", fresh=True)

    def _admin(self, sql: str) -> None:
        assert self.pg_url is not None
        asyncio.run(_pg_exec(self.pg_url, sql))

    def _pg_db(self, name: str, *, template: str | None = None, fresh: bool = False) -> str:
        assert self.pg_url is not None
        if fresh or template:
            self._admin(f'DROP DATABASE IF EXISTS "{name}"')
            self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        base, _, query = self.pg_url.partition("?")
        return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")

    def copy(self) -> str:
        self.copies += 1
        if self.pg_url is None:
            target = self.tmp / f"copy{self.copies}.sqlite3"
            src = Path(self.url.removeprefix("sqlite://"))
            for suffix in ("", "-wal", "-shm"):
                if (src.parent / (src.name + suffix)).exists():
                    shutil.copyfile(src.parent / (src.name + suffix), target.parent / (target.name + suffix))
            return f"sqlite://{target}"
        return self._pg_db(f"bench_copy{self.copies}", template="bench_ingested")


async def _pg_exec(url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1].split("?", 1)[0])
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def hub_env(tmp: Path, db_url: str, redis_url: str, token: str, port: int) -> dict[str, str]:
    env = {**os.environ, "HUB__DATABASE__URL": db_url, "HUB__REDIS__URL": redis_url, "HUB__REDIS__EMBEDDED": "false"}
    env |= {"HUB__SERVER__PORT": str(port), "HUB__DATA_DIR": str(tmp), "HUB__WORKTOOL__CALLBACK_TOKEN": token}
    api_tokens = [{"token": secrets.token_urlsafe(24), "role": "admin", "name": "bench"}]
    # The sweeper is held off: the benchmark enqueues the backlog itself once the workers are idle.
    env |= {"HUB__API__TOKENS": json.dumps(api_tokens), "HUB__INGEST__SWEEP_GRACE_S": "86400"}
    return env


def ingest(args: argparse.Namespace, tmp: Path, db: Database, redis_url: str) -> int:
    """Migrate, let `hub serve` store the callbacks, stop it; returns the stored message count. With `--base`,
    the first base revision's code does it (a stable ingest while the checkout is being edited)."""
    token, port, py = secrets.token_urlsafe(24), free_port(), sys.executable
    tree = code_tree(tmp, args.base[0] if args.base else None)
    env = hub_env(tmp, db.url, redis_url, token, port) | {"PYTHONPATH": str(tree)}
    migrated = subprocess.run(
        [py, "-m", "bot.cli", "migrate"], cwd=tree, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if migrated.returncode != 0:
        raise BenchError(f"hub migrate failed:\n{(migrated.stdout + migrated.stderr)[-2000:]}")
    log = tmp / f"serve-{db.name}.log"
    server = spawn_tree(tree, env, log, "serve")
    try:
        wait_healthy(server, port, log)
        bodies = callbacks(args.messages, args.seed, f"{db.name}-{secrets.token_hex(3)}")
        progress(f"{db.name}: ingesting {len(bodies)} callbacks through hub serve...")
        ok = asyncio.run(post_all(f"http://127.0.0.1:{port}/worktool/{ROBOT1}/message?token={token}", bodies))
        if ok != len(bodies):
            raise BenchError(f"only {ok} of {len(bodies)} callbacks were answered 2xx:\n{tail(log)}")
    finally:
        stop(server)
    return int(fetch(db.url, TOTAL_SQL)[0][0])


def code_tree(tmp: Path, base: str | None) -> Path:
    if base is None:
        return ROOT
    if Path(base).is_dir():
        return Path(base).resolve()
    tree = tmp / f"base-{base.replace('/', '_')}"
    if not tree.exists():
        tree.mkdir()
        archive = subprocess.run(["git", "archive", base], cwd=ROOT, capture_output=True, check=True, timeout=60)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True, timeout=60)
    return tree


async def _enqueue(redis_url: str, conversation_ids: list[int]) -> None:
    from bot.queue import arq_redis, enqueue_processing

    redis = arq_redis(redis_url)
    try:
        await enqueue_processing(redis, conversation_ids, f"bench.{secrets.token_hex(3)}")
    finally:
        await redis.aclose()


async def _flush(redis_url: str) -> None:
    from bot.queue import arq_redis

    redis = arq_redis(redis_url)
    try:
        await redis.flushall()
    finally:
        await redis.aclose()


def wait_idle(procs: list[subprocess.Popen[bytes]], logs: list[Path], timeout_s: float = 90) -> None:
    """Until every worker has logged its start and its CPU has stopped moving (start-up crons done)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise BenchError(f"a worker exited with {proc.returncode}:\n{tail(log)}")
        if all("worker started" in log.read_text(encoding="utf-8", errors="replace") for log in logs):
            break
        time.sleep(0.1)
    else:
        raise BenchError(f"the workers did not start within {timeout_s:g} s:\n{tail(logs[0])}")
    last = -1.0
    while time.monotonic() < deadline:
        time.sleep(0.5)
        cpu = sum(process_cpu_s(p.pid) for p in procs)
        if cpu - last < 0.02:
            return
        last = cpu


def drain(
    args: argparse.Namespace, tmp: Path, db: Database, redis_url: str, *, workers: int, base: str | None, stored: int
) -> Drain:
    label = Path(base).name if base and Path(base).is_dir() else (base or "checkout")
    url, tree = db.copy(), code_tree(tmp, base)
    asyncio.run(_flush(redis_url))
    env = hub_env(tmp, url, redis_url, secrets.token_urlsafe(24), free_port())
    env["PYTHONPATH"] = str(tree)
    logs = [tmp / f"worker-{db.name}-{db.copies}-{n}.log" for n in range(workers)]
    procs = [spawn_tree(tree, env, log, "worker") for log in logs]
    try:
        wait_idle(procs, logs)
        cpu0 = [process_cpu_s(p.pid) for p in procs]
        conversations = [int(row[0]) for row in fetch(url, CONVERSATIONS_SQL)]
        progress(f"{db.name} {label}, {workers} worker(s): draining {stored} messages...")
        spies = [profile(args, tmp, p.pid, f"{db.name}-{db.copies}-{n}") for n, p in enumerate(procs)]
        started = time.monotonic()
        asyncio.run(_enqueue(redis_url, conversations))
        deadline = started + args.timeout
        pending = stored
        while time.monotonic() < deadline:
            pending = int(fetch(url, PENDING_SQL)[0][0])
            if pending == 0:
                break
            for proc, log in zip(procs, logs, strict=True):
                if proc.poll() is not None:
                    raise BenchError(f"a worker exited with {proc.returncode}:\n{tail(log)}")
            time.sleep(0.05)
        seconds = time.monotonic() - started
        cpu = sum(process_cpu_s(p.pid) - c for p, c in zip(procs, cpu0, strict=True))
        for spy in spies:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=30)
        if pending:
            raise BenchError(f"{pending} messages still pending after {args.timeout:g} s:\n{tail(logs[0])}")
    finally:
        for proc in procs:
            stop(proc)
    return Drain(label, workers, stored, seconds, cpu)


def profile(args: argparse.Namespace, tmp: Path, pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """`--py-spy PATH`: a sampling profile of the worker during the drain (raw, for flame graphs)."""
    if not args.py_spy:
        return None
    out = Path(args.profile_dir or tmp) / f"profile-{name}.txt"
    progress(f"profiling pid {pid} into {out}")
    cmd = [args.py_spy, "record", "-p", str(pid), "-f", "raw", "-o", str(out), "-r", "200"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spawn_tree(tree: Path, env: dict[str, str], log: Path, command: str) -> subprocess.Popen[bytes]:
    """`hub COMMAND` from the code in `tree` (own session: Ctrl-C reaches only us)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", command],
            cwd=tree,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def rule_floor(url: str) -> Floor:
    """The rule engine alone on the stored messages, in arrival order, with each conversation's context
    kept in memory (what the worker's understanding step computes, without any database work)."""
    from bot.reference import load_directory
    from bot.settings import load_settings
    from bot.understanding.engine import ContextMessage, MessageInput
    from bot.understanding.intervention import judge
    from bot.understanding.store import RuleStore
    from bot.understanding.tokens import configure_jieba

    settings = load_settings()
    configure_jieba(Path(settings.data_dir))
    rules = RuleStore(Path(settings.rules_dir)).current
    directory, _ = load_directory(settings)
    rows = fetch(url, MESSAGES_SQL)
    window = timedelta(hours=2)
    recent: dict[int, deque[ContextMessage]] = defaultdict(lambda: deque(maxlen=12))
    now = datetime.now(UTC)
    started = time.process_time()
    for conversation_id, sender, text, _ in rows:
        role = directory.role_of(sender)
        context = tuple(c for c in recent[conversation_id] if c.at is None or c.at >= now - window)
        msg = MessageInput(text, role, sender, now, context)
        if role != "robot":
            found = rules.engine.classify(msg)
            judge(msg, found, rules.intervention, rules.engine, None)
            recent[conversation_id].append(ContextMessage(role=role, text=text, sender=sender, at=now, type=found.type))
    return Floor(len(rows), time.process_time() - started)


def floor_in(tree: Path, url: str) -> Floor:
    """`rule_floor` with the code and rules of `tree` (the checkout's rules may be mid-edit), in a child."""
    script = (
        "import sys; from scripts.bench_worker import rule_floor; f = rule_floor(sys.argv[1]); "
        "print(f.messages, f.cpu_s)"
    )
    env = {**os.environ, "PYTHONPATH": str(tree), "HUB__LOGGING__LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-c", script, url], cwd=tree, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"the rule engine floor failed:\n{(done.stdout + done.stderr)[-2000:]}")
    messages, cpu_s = done.stdout.split()[-2:]
    return Floor(int(messages), float(cpu_s))


def report(args: argparse.Namespace, results: dict[str, tuple[Floor, list[Drain]]]) -> bool:
    rows = [f"\n== worker benchmark: {args.messages} realistic messages over 300 groups, drained from a backlog =="]
    verdicts: dict[str, bool] = {}
    for name, (floor, drains) in results.items():
        rows.append(
            f"{name}: rule engine alone (the floor): {floor.rate:8.0f} msgs/s  "
            f"{floor.cpu_s * 1000 / floor.messages:.3f} ms CPU/msg"
        )
        for d in drains:
            rows.append(
                f"{name}: {d.label:>12} {d.workers} worker(s): {d.rate:8.0f} msgs/s  "
                f"{d.cpu_ms:6.2f} ms worker CPU/msg  ({d.messages} in {d.seconds:.2f} s)"
            )
        mine = [d for d in drains if d.label == drains[-1].label]
        one = next((d for d in mine if d.workers == 1), None)
        if one is not None:
            verdicts[f"{name}: <= 1 ms of worker CPU per message"] = one.cpu_ms <= 1.0
            verdicts[f"{name}: >= 1,000 messages/s with one worker"] = one.rate >= 1000
        two = next((d for d in mine if d.workers == 2), None)
        if one is not None and two is not None:
            rows.append(f"{name}: two workers drain {two.rate / one.rate:.2f}x what one does")
    rows += [f"{'PASS' if ok else 'FAIL'}  {what}" for what, ok in verdicts.items()]
    print("\n".join(rows), flush=True)
    return all(verdicts.values())


def run(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> bool:
    progress("starting redis...")
    redis = start_redis(free_port())
    stack.callback(redis.stop)
    databases: list[str | None] = [] if args.no_sqlite else [None]
    if args.postgres:
        from bot.throwaway_postgres import start_postgres

        progress("starting a throwaway PostgreSQL...")
        cluster = start_postgres()
        stack.callback(cluster.stop)
        databases.append(cluster.url())
    elif args.db_url:
        databases.append(args.db_url)
    results: dict[str, tuple[Floor, list[Drain]]] = {}
    for pg_url in databases:
        db = Database(tmp, pg_url)
        stored = ingest(args, tmp, db, redis.url)
        progress(f"{db.name}: {stored} messages stored; the rule engine alone on them...")
        floor = floor_in(code_tree(tmp, args.base[-1] if args.no_tree and args.base else None), db.url)
        drains = []
        for base in [*args.base, *([] if args.no_tree else [None])]:
            for workers in args.workers:
                drains.append(drain(args, tmp, db, redis.url, workers=workers, base=base, stored=stored))
                progress(f"  {drains[-1].rate:.0f} msgs/s, {drains[-1].cpu_ms:.2f} ms CPU/msg")
        results[db.name] = (floor, drains)
    return report(args, results)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="WorkTool Hub worker benchmark (drain rate, worker CPU per message)")
    parser.add_argument("--messages", type=int, default=3000, help="callbacks ingested before the drain")
    parser.add_argument("--workers", default="1", help="worker counts to measure, comma-separated (e.g. 1,2)")
    parser.add_argument("--db-url", help="a PostgreSQL server to measure on too (its databases bench_* are replaced)")
    parser.add_argument("--postgres", action="store_true", help="measure on a throwaway PostgreSQL cluster too")
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument(
        "--base", action="append", default=[], help="also drain with the code at this git revision (or directory)"
    )
    parser.add_argument("--no-tree", action="store_true", help="only the --base revisions, not the checkout")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up a drain after this many seconds")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--py-spy", help="path of py-spy: record a profile of each drain")
    parser.add_argument("--profile-dir", help="where the profiles go (default: the temp dir)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 messages")
    args = parser.parse_args(argv)
    args.workers = [int(n) for n in str(args.workers).split(",")]
    if args.quick:
        args.messages, args.timeout = 200, 120.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main("bench_worker", lambda tmp, stack: run(args, tmp, stack))


if __name__ == "__main__":
    sys.exit(main())
