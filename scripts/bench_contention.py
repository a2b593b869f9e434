"""Write contention on SQLite: `hub run` (server + worker) saturated by wrk while the worker works off a backlog.

Each run: a fresh database and Redis; `hub serve` alone ingests a backlog (`--conversations` x
`--per-conversation` messages, so the worker has long runs of pending messages per conversation); then
`hub run` starts, its worker takes on the backlog, and wrk saturates the callbacks for `--duration` s
(realistic callbacks over 300 groups, as scripts/bench_ingest.py). Reported per run and as ranges: non-2xx
answers (503s), wrk's ack p50/p99, ingest's "database is locked" and batches answered 503, the worker's
write-lock hold times (its "write lock holds" summaries and long-hold warnings), messages the worker
processed meanwhile, and the loss check (every acknowledged callback stored).
Usage: `python scripts/bench_contention.py [--runs 3] [--duration 8] [--connections 32]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.embedded_redis import free_port, start_redis  # noqa: E402
from scripts.bench_ingest import (  # noqa: E402
    BODY,
    CHARS,
    ROBOT1,
    ROBOT1_NAME,
    SENDERS,
    Bench,
    check,
    fetch,
    find_wrk,
    settled_counts,
    spawn,
    stop,
    wait_healthy,
)
from scripts.benchkit import BenchError, progress, run_main  # noqa: E402

PENDING_SQL: Final = "SELECT count(*) FROM inbound_messages WHERE state = 'pending'"


@dataclass
class Run:
    non2xx: int = 0
    requests: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    locked: int = 0  # "database is locked" in the hub's log
    failed_batches: int = 0  # ingest batches answered 503
    hold_max_ms: float = 0.0
    hold_p99_ms: float = 0.0  # the highest p99 of the worker's summaries
    long_holds: int = 0  # transactions over 50 ms
    processed: int = 0  # by the worker during the load
    lost: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self, n: int) -> str:
        return (
            f"run {n}: 503/non-2xx {self.non2xx} of {self.requests}; "
            f"ack p50 {self.p50_ms:.1f} ms p99 {self.p99_ms:.1f} ms; "
            f"'database is locked' {self.locked}, batches answered 503 {self.failed_batches}; worker lock hold "
            f"max {self.hold_max_ms:.0f} ms, p99 {self.hold_p99_ms:.0f} ms, > 50 ms {self.long_holds}; "
            f"processed meanwhile {self.processed}; lost {self.lost}"
        )


def backlog_bodies(conversations: int, per: int, seed: int) -> list[bytes]:
    rng, out = random.Random(seed), []
    for i in range(per):
        for c in range(conversations):
            text = "".join(rng.choices(CHARS, k=rng.randint(5, 40)))
            at = i % 4 == 0
            raw = f"@{ROBOT1_NAME} {text}" if at else text
            sender = SENDERS[(c * 7 + i) % len(SENDERS)]
            ext = f"backlog-{seed}-{c}-{i}"
            body = BODY % (text, raw, sender, f"积压{c}群", "", "true" if at else "false", ext)
            out.append(body.encode())
    return out


async def post_backlog(url: str, bodies: list[bytes]) -> None:
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = list(reversed(bodies))

        async def client() -> None:
            while queue:
                body = queue.pop()
                async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
                    if resp.status != 200:
                        raise BenchError(f"backlog callback answered {resp.status}: {await resp.text()}")

        await asyncio.gather(*(client() for _ in range(32)))


def parse_log(log: Path, run: Run) -> None:
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        run.locked += line.count("database is locked")
        if "callers get 503" in line:
            run.failed_batches += 1
        if not line.startswith("{"):
            continue
        with contextlib.suppress(ValueError):
            entry: dict[str, Any] = json.loads(line)
            event = entry.get("event")
            if event == "write lock holds" and entry.get("what") == "process":
                run.hold_max_ms = max(run.hold_max_ms, float(entry["max_ms"]))
                run.hold_p99_ms = max(run.hold_p99_ms, float(entry["p99_ms"]))
            elif event == "a write transaction held the database lock long" and entry.get("what") == "process":
                run.long_holds += 1


def hub_env(tmp: Path, redis_url: str, port: int, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    env |= {"HUB__DATABASE__URL": f"sqlite://{tmp}/hub.sqlite3", "HUB__REDIS__URL": redis_url}
    env |= {"HUB__REDIS__EMBEDDED": "false", "HUB__SERVER__PORT": str(port), "HUB__DATA_DIR": str(tmp)}
    env |= {"HUB__WORKTOOL__CALLBACK_TOKEN": token, "HUB__WORKTOOL__SIMULATOR__PORT": str(free_port())}
    env |= {"HUB__WORKTOOL__SIMULATOR__PLAY": "false", "HUB__LOGGING__LEVEL": "INFO", "HUB__LOGGING__FORMAT": "json"}
    api_tokens = [{"token": secrets.token_urlsafe(24), "role": "admin", "name": "bench"}]
    return env | {"HUB__API__TOKENS": json.dumps(api_tokens)}


def one_run(args: argparse.Namespace, tmp: Path, wrk: str, n: int) -> Run:
    run, py = Run(), sys.executable
    with contextlib.ExitStack() as stack:
        redis = start_redis(free_port())
        stack.callback(redis.stop)
        bench = Bench(args, tmp, wrk)
        port = free_port()
        env = hub_env(tmp, redis.url, port, bench.token)
        db_url = env["HUB__DATABASE__URL"]
        cmd = [py, "-m", "bot.cli", "migrate"]
        migrated = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        if migrated.returncode != 0:
            raise BenchError(f"hub migrate failed:\n{(migrated.stdout + migrated.stderr)[-2000:]}")
        total = args.conversations * args.per_conversation
        progress(f"run {n}: ingesting a backlog of {total} messages ({args.conversations} conversations)...")
        serve = spawn([py, "-m", "bot.cli", "serve"], env, tmp / "serve.log")
        try:
            wait_healthy(serve, port, tmp / "serve.log")
            url = f"http://127.0.0.1:{port}/worktool/{ROBOT1}/message?token={bench.token}"
            asyncio.run(post_backlog(url, backlog_bodies(args.conversations, args.per_conversation, n)))
        finally:
            stop(serve)
        progress(f"run {n}: hub run (server + worker), then wrk -c{args.connections} for {args.duration:g} s...")
        log = tmp / "run.log"
        hub = spawn([py, "-m", "bot.cli", "run"], env, log)
        stack.callback(stop, hub)
        wait_healthy(hub, port, log)
        deadline = time.monotonic() + 30
        while fetch(db_url, PENDING_SQL)[0][0] >= total and time.monotonic() < deadline:
            time.sleep(0.05)  # the worker has started on the backlog
        before = settled_counts(db_url)
        pending_before = fetch(db_url, PENDING_SQL)[0][0]
        load = bench.saturate(port, args.duration, f"r{n}")
        pending_after = fetch(db_url, PENDING_SQL)[0][0]
        run.processed = pending_before + len(load.new_ids) - pending_after
        run.requests, run.non2xx = load.requests, load.non2xx
        found = re.findall(r"p(\d\d) ([\d.]+) ms", load.extra)
        run.p50_ms, run.p99_ms = (float(v) for _, v in found)
        result = check("load", db_url, before, load, args.connections + load.errors)
        run.lost = result.lost
        time.sleep(11)  # the worker's hold-time summary comes every 10 s
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=60)
        parse_log(log, run)
        if args.keep_logs:
            Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
            (Path(args.keep_logs) / f"run{n}.log").write_bytes(log.read_bytes())
    return run


def spread(values: list[float]) -> str:
    return f"{min(values):g}-{max(values):g}" if len(set(values)) > 1 else f"{values[0]:g}"


def run(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> bool:
    del stack
    wrk = find_wrk()
    if wrk is None:
        raise BenchError("wrk is needed (apt-get install wrk)")
    runs = []
    for n in range(1, args.runs + 1):
        directory = tmp / f"run{n}"
        directory.mkdir()
        runs.append(one_run(args, directory, wrk, n))
        progress(runs[-1].line(n))
    load = f"wrk -c{args.connections} {args.duration:g} s"
    print(f"\n== write contention, hub run on SQLite, {load}, {args.runs} runs ==")
    for n, r in enumerate(runs, 1):
        print(r.line(n))
    print(
        f"ranges: 503 {spread([r.non2xx for r in runs])}; ack p99 {spread([r.p99_ms for r in runs])} ms; "
        f"'database is locked' {spread([r.locked for r in runs])}; worker hold max "
        f"{spread([r.hold_max_ms for r in runs])} ms, p99 {spread([r.hold_p99_ms for r in runs])} ms; "
        f"processed meanwhile {spread([r.processed for r in runs])}; lost {spread([r.lost for r in runs])}"
    )
    return all(r.non2xx == 0 and r.lost == 0 for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--per-conversation", type=int, default=60)
    parser.add_argument("--keep-logs", help="copy each run's hub log into this directory")
    args = parser.parse_args()
    return run_main("bench_contention", lambda tmp, stack: run(args, tmp, stack))


if __name__ == "__main__":
    raise SystemExit(main())
