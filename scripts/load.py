"""Load test of the whole stack: `hub serve` x N, `hub worker` x M, the WorkTool simulator as the cloud, SQLite or
PostgreSQL, Redis, driven by realistic callbacks at a fixed rate for a fixed time.

Reports ack latency, message->processed and message->reply-sent latency (the reply as the simulator received
it), the backlog over time, CPU and RSS per process, and checks afterwards that every acknowledged message
was stored once and processed, and that nothing was sent twice (every simulator request matches exactly one
hub command). A progress line per second while it runs.

    python scripts/load.py --servers 1 --workers 1 --db sqlite --rate 500 --duration 60     # `hub run`'s shape
    python scripts/load.py --servers 2 --workers 2 --db postgres --rate 300 --duration 30   # scale-out

`--db postgres` starts a throwaway PostgreSQL (bot/throwaway_postgres.py: fsync off, so it measures the hub,
not the disk) unless `--db-url` names one. Exit 1 when a check fails or a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import aiohttp

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.embedded_redis import free_port, start_redis  # noqa: E402
from bot.throwaway_postgres import start_postgres  # noqa: E402
from scripts.bench_ingest import (  # noqa: E402
    BODY,
    GROUPS,
    REMARKS,
    ROBOT1,
    ROBOT1_NAME,
    ROBOT2,
    SENDERS,
    Callback,
    Traffic,
    fetch,
    spawn,
    stop,
    wait_healthy,
)
from scripts.benchkit import BenchError, process_cpu_s, progress, run_main, tail  # noqa: E402

# What users send besides chatter: complaints open alerts, after-sales requests open tasks (rules/*.yaml).
COMPLAINTS: Final = ("你们这个质量太差了，我要投诉", "发货太慢了，再不处理我就投诉了", "客服态度太差，要求退款")
AFTER_SALES: Final = ("扫码登录不了，帮忙看看", "账号被封号了怎么办", "收不到验证码，绑定不了")
SCENARIO: Final = """\
echo: false
robots:
  - {id: wt-robot-1, name: 小助手, reply_all: 1, result: {mode: on_time, delay_s: 0.5}}
  - {id: wt-robot-2, name: 售后助手, reply_all: 1, result: {mode: on_time, delay_s: 0.5}}
"""
TARGETS: Final = {"ack_p99_ms": 50.0, "processed_p99_s": 2.0}


class MixedTraffic(Traffic):
    """bench_ingest's callbacks (300 groups, a third @-mentions, robot-2 copies, re-deliveries) with every
    25th message a complaint and every 30th an after-sales request."""

    def next_message(self) -> list[Callback]:
        out = super().next_message()
        n = self.n
        text = COMPLAINTS[n % 3] if n % 25 == 0 else AFTER_SALES[n % 3] if n % 30 == 0 else None
        if text is None:
            return out
        g, sender, ext = self.rng.randrange(len(GROUPS)), self.rng.choice(SENDERS), f"{self.prefix}-{n}"
        raw = f"@{ROBOT1_NAME} {text}"
        body = BODY % (text, raw, sender, GROUPS[g], REMARKS[g], "true", ext)
        return [Callback(ROBOT1, body.encode(), "orig"), Callback(ROBOT2, (BODY % (raw, raw, sender, GROUPS[g],
                REMARKS[g], "false", f"{ext}-c")).encode(), "copy")]  # fmt: skip


@dataclass
class Proc:
    name: str
    popen: Any
    log: Path
    cpu_start: float = 0.0
    rss_max_mb: float = 0.0

    def rss_mb(self) -> float:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return math.nan

    def cpu_s(self) -> float:
        return process_cpu_s(self.popen.pid) - self.cpu_start


@dataclass
class Sent:
    sent: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    new_ids: set[int] = field(default_factory=set)
    ack_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    max_lag_s: float = 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


class Run:
    def __init__(self, args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> None:
        self.args, self.tmp, self.stack = args, tmp, stack
        self.token = secrets.token_urlsafe(24)
        self.admin = secrets.token_urlsafe(24)
        self.procs: list[Proc] = []
        self.ports: list[int] = []
        self.sim_port = free_port()
        self.db_url = ""
        self.timeline: list[str] = []

    # -- set-up ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        args, tmp = self.args, self.tmp
        progress("starting redis...")
        redis = start_redis(free_port())
        self.stack.callback(redis.stop)
        if args.db_url:
            self.db_url = args.db_url
        elif args.db == "postgres":
            progress("starting a throwaway PostgreSQL...")
            cluster = start_postgres()
            self.stack.callback(cluster.stop)
            cluster.psql("CREATE DATABASE hub_load")
            self.db_url = cluster.url("hub_load")
        else:
            self.db_url = f"sqlite://{tmp}/load.sqlite3"
        scenario = tmp / "load-scenario.yaml"
        scenario.write_text(SCENARIO, encoding="utf-8")
        self.ports = [free_port() for _ in range(args.servers)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
        env |= {
            "HUB__DATABASE__URL": self.db_url,
            "HUB__REDIS__URL": redis.url,
            "HUB__REDIS__EMBEDDED": "false",
            "HUB__DATA_DIR": str(tmp),
            "HUB__WORKTOOL__CALLBACK_TOKEN": self.token,
            "HUB__WORKTOOL__API_BASE": f"http://127.0.0.1:{self.sim_port}",
            "HUB__API__TOKENS": json.dumps([{"token": self.admin, "role": "admin", "name": "load"}]),
            "HUB__LOGGING__LEVEL": "WARNING",
        }
        if args.no_pacing:
            env |= {
                "HUB__WORKTOOL__PACING__MIN_GAP_S": "0",
                "HUB__WORKTOOL__PACING__JITTER_S": "0",
                "HUB__WORKTOOL__PACING__PER_MINUTE": "100000",
                "HUB__WORKTOOL__PACING__GROUP_REPLIES_PER_MINUTE": "100000",
            }
        progress(f"migrating {self.db_url.split(':')[0]}...")
        cmd = [sys.executable, "-m", "bot.cli", "migrate"]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise BenchError(f"hub migrate failed:\n{(done.stdout + done.stderr)[-2000:]}")
        for n, port in enumerate(self.ports):
            self._spawn(f"server{n}", ["serve"], env | {"HUB__SERVER__PORT": str(port)})
        for n, port in enumerate(self.ports):
            wait_healthy(self.procs[n].popen, port, self.procs[n].log)
        hub = f"http://127.0.0.1:{self.ports[0]}"
        sim_args = ["sim", "--port", str(self.sim_port), "--hub-url", hub, "--scenario", str(scenario)]
        self._spawn("sim", sim_args, env | {"HUB__SERVER__PORT": str(self.ports[0])})
        self._wait_sim()
        for n in range(args.workers):
            self._spawn(f"worker{n}", ["worker"], env | {"HUB__SERVER__PORT": str(self.ports[0])})
        for proc in self.procs:
            if proc.popen.poll() is not None:
                raise BenchError(f"{proc.name} exited with {proc.popen.returncode}:\n{tail(proc.log)}")

    def _spawn(self, name: str, cli: list[str], env: dict[str, str]) -> None:
        log = self.tmp / f"{name}.log"
        popen = spawn([sys.executable, "-m", "bot.cli", *cli], env, log)
        self.stack.callback(stop, popen)
        self.procs.append(Proc(name, popen, log))

    def _wait_sim(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            url = f"http://127.0.0.1:{self.sim_port}/_sim/stats"
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
            time.sleep(0.2)
        raise BenchError(f"the simulator did not answer:\n{tail(self.tmp / 'sim.log')}")

    # -- load -----------------------------------------------------------------------------------------------
    def plan(self) -> list[tuple[float, str, Callback]]:
        """(offset s, server url, callback): originals round-robin over the servers, a robot-2 copy to the
        next server (the same message through two servers), re-deliveries to a third."""
        rate, seconds, servers = self.args.rate, self.args.duration, len(self.ports)
        traffic, msg_rate = MixedTraffic(f"load-{secrets.token_hex(3)}", 7), rate / 1.15
        urls = [f"http://127.0.0.1:{p}/worktool/{{robot}}/message?token={self.token}" for p in self.ports]
        out: list[tuple[float, str, Callback]] = []
        for i in range(int(msg_rate * seconds)):
            for cb in traffic.next_message():
                shift = {"orig": 0, "copy": 1, "redo": 2}[cb.kind]
                delay = {"orig": 0.0, "copy": traffic.rng.uniform(0, 0.05), "redo": traffic.rng.uniform(0.1, 1.0)}
                if (at := i / msg_rate + delay[cb.kind]) < seconds:
                    out.append((at, urls[(i + shift) % servers], cb))
        out.sort(key=lambda item: item[0])
        return out

    async def drive(self) -> Sent:
        plan, sent, loop = self.plan(), Sent(), asyncio.get_running_loop()
        progress(f"sending {len(plan)} callbacks over {self.args.duration:g} s to {len(self.ports)} server(s)...")
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=500), timeout=timeout) as session:
            sent.new_ids |= await self.warm_up(session)
            for proc in self.procs:  # CPU from here on: the run, not start-up
                proc.cpu_start = process_cpu_s(proc.popen.pid)
            sampler = asyncio.create_task(self.sample(sent, loop.time()))
            start, tasks = loop.time() + 0.05, list[asyncio.Task[None]]()
            for offset, url, cb in plan:
                if (wait := start + offset - loop.time()) > 0:
                    await asyncio.sleep(wait)
                sent.max_lag_s = max(sent.max_lag_s, loop.time() - start - offset)
                tasks.append(asyncio.create_task(self._post(session, url, cb, sent, start + offset)))
            await asyncio.gather(*tasks)
            progress("all sent; waiting for the workers to drain the backlog...")
            deadline = loop.time() + self.args.drain_timeout
            await self.drained(deadline)
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        return sent

    async def warm_up(self, session: aiohttp.ClientSession) -> set[int]:
        """One message through each server, processed, before the clock starts (the workers load their
        rules and dictionaries at their first message)."""
        warm, traffic, loop = Sent(), MixedTraffic(f"warm-{secrets.token_hex(3)}", 3), asyncio.get_running_loop()
        for port in self.ports:
            url = f"http://127.0.0.1:{port}/worktool/{{robot}}/message?token={self.token}"
            await self._post(session, url, traffic.next_message()[0], warm, loop.time())
        if not await self.drained(loop.time() + 60):
            raise BenchError("the warm-up messages were not processed within 60 s")
        return warm.new_ids

    async def drained(self, deadline: float) -> bool:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            if await asyncio.to_thread(self.pending) == 0:
                return True
            await asyncio.sleep(0.5)
        return False

    async def _post(self, session: aiohttp.ClientSession, url: str, cb: Callback, sent: Sent, at: float) -> None:
        loop = asyncio.get_running_loop()
        sent.sent[cb.kind] += 1
        try:
            async with session.post(
                url.format(robot=cb.robot), data=cb.body, headers={"Content-Type": "application/json"}
            ) as resp:
                status, raw = resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError):
            sent.errors += 1
            return
        sent.statuses[status] += 1
        if status != 200:
            return
        sent.ack_s.append(loop.time() - at)
        sent.acked[cb.kind] += 1
        answer = json.loads(raw)
        if answer.get("duplicate") is False:
            sent.new_ids.add(int(answer["messageId"]))

    def pending(self) -> int:
        return int(fetch(self.db_url, "SELECT count(*) FROM inbound_messages WHERE state = 'pending'")[0][0])

    async def sample(self, sent: Sent, started: float) -> None:
        loop, last_cpu = asyncio.get_running_loop(), {p.name: p.cpu_s() for p in self.procs}
        last_t = loop.time()
        while True:
            await asyncio.sleep(1.0)
            counts = await asyncio.to_thread(
                fetch, self.db_url, "SELECT state, count(*) FROM inbound_messages GROUP BY state"
            )
            by_state = {str(state): int(n) for state, n in counts}
            now = loop.time()
            cpu = []
            for proc in self.procs:
                used = proc.cpu_s()
                rss = proc.rss_mb()
                proc.rss_max_mb = max(proc.rss_max_mb, rss) if not math.isnan(rss) else proc.rss_max_mb
                cpu.append(f"{proc.name} {100 * (used - last_cpu[proc.name]) / (now - last_t):.0f}%/{rss:.0f}MB")
                last_cpu[proc.name] = used
            last_t = now
            line = (
                f"t={now - started:5.1f}s sent {sum(sent.sent.values())} acked {sum(sent.acked.values())} "
                f"processed {by_state.get('processed', 0)} backlog {by_state.get('pending', 0)} "
                f"failed {by_state.get('failed', 0)} | " + "  ".join(cpu)
            )
            self.timeline.append(line)
            print(line, flush=True)

    # -- verification ---------------------------------------------------------------------------------------
    def sim_commands(self) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.sim_port}/_sim/commands"
        with urllib.request.urlopen(url, timeout=30) as resp:
            data: list[dict[str, Any]] = json.loads(resp.read())["data"]
        return data

    def verify(self, sent: Sent) -> tuple[list[str], dict[str, bool]]:
        db = self.db_url
        rows = fetch(db, "SELECT id, state, received_at, processed_at, attempts FROM inbound_messages")
        by_id = {int(r[0]): r for r in rows}
        lost = sent.new_ids - by_id.keys()
        states = Counter(str(r[1]) for r in rows)
        unacked = len(by_id.keys() - sent.new_ids)
        processed_s = [
            (_dt(r[3]) - _dt(r[2])).total_seconds() for r in rows if str(r[1]) == "processed" and r[3] is not None
        ]
        retried = sum(1 for r in rows if int(r[4] or 0) > 1)
        peak = peak_rate([_dt(r[3]).timestamp() for r in rows if r[3] is not None])
        sightings = int(fetch(db, "SELECT count(*) FROM message_sightings")[0][0])
        commands = fetch(
            db, "SELECT id, reply_key, part, purpose, status, worktool_message_id, batch_index FROM commands"
        )
        sim = self.sim_commands()
        sim_keys = Counter((c["messageId"], c["index"]) for c in sim)
        hub_keys = {(str(c[5]), int(c[6])): c for c in commands if c[5] is not None and c[6] is not None}
        unmatched = [k for k in sim_keys if k not in hub_keys]
        doubled = [k for k, n in sim_keys.items() if n > 1]
        replies_per_key = Counter((str(c[1]), int(c[2])) for c in commands)
        queued_twice = [k for k, n in replies_per_key.items() if n > 1]
        reply_s: list[float] = []
        for c in sim:
            cmd = hub_keys.get((c["messageId"], c["index"]))
            if cmd is None or not str(cmd[1]).startswith("reply:"):
                continue
            message = by_id.get(int(str(cmd[1]).removeprefix("reply:")))
            if message is not None:
                reply_s.append(c["receivedAt"] / 1000 - _dt(message[2]).timestamp())
        purposes = Counter(f"{c[3]}:{c[4]}" for c in commands)
        notes = {str(k): int(n) for k, n in fetch(db, "SELECT status, count(*) FROM notifications GROUP BY status")}
        alerts = int(fetch(db, "SELECT count(*) FROM alerts")[0][0])
        tasks = int(fetch(db, "SELECT count(*) FROM after_sales_tasks")[0][0])
        copies = sent.acked["copy"]
        worker_cpu = sum(p.cpu_s() for p in self.procs if p.name.startswith("worker"))
        ack_ms = [s * 1000 for s in sent.ack_s]
        non200 = {k: v for k, v in sent.statuses.items() if k != 200}
        lines = [
            (
                f"callbacks: sent {dict(sent.sent)}, acked {dict(sent.acked)}, non-200 {non200 or 0}, "
                f"socket errors {sent.errors}, sender lag max {sent.max_lag_s * 1000:.0f} ms"
            ),
            f"ack latency: p50 {pct(ack_ms, 0.5):.1f} ms  p99 {pct(ack_ms, 0.99):.1f} ms  max {pct(ack_ms, 1):.1f} ms",
            (
                f"message->processed: p50 {pct(processed_s, 0.5):.2f} s  p99 {pct(processed_s, 0.99):.2f} s  "
                f"max {pct(processed_s, 1):.2f} s  ({len(processed_s)} messages; stored received_at -> processed_at)"
            ),
            (
                f"message->reply-sent (simulator's receipt): p50 {pct(reply_s, 0.5):.2f} s  "
                f"p99 {pct(reply_s, 0.99):.2f} s"
                f"  ({len(reply_s)} replies sent; pacing: one robot sends every worktool.pacing.min_gap_s at most)"
            ),
            (
                f"stored: {len(rows)} messages ({dict(states)}), {sightings} sightings for {copies} acked copies; "
                f"acked-new but not stored: {len(lost)}; stored but not acked as new: {unacked}; retried: {retried}"
            ),
            (f"effects: commands {dict(purposes)}; alerts {alerts}; after-sales tasks {tasks}; notifications {notes}"),
            (
                f"sends: {len(sim)} commands reached the simulator; not matching a hub command: {len(unmatched)}; "
                f"the same command twice: {len(doubled)}; a reply queued twice: {len(queued_twice)}"
            ),
            (
                f"workers: {worker_cpu:.1f} s of CPU for {len(processed_s)} messages = "
                f"{1000 * worker_cpu / max(len(processed_s), 1):.2f} ms per message "
                f"(~{len(processed_s) / worker_cpu if worker_cpu else math.nan:.0f} messages/s per core); "
                f"drained at best {peak:.0f} messages/s (5 s window; a backlog shows the workers' capacity)"
            ),
            "per process: "
            + "  ".join(f"{p.name} cpu {p.cpu_s():.1f} s, rss max {p.rss_max_mb:.0f} MB" for p in self.procs),
        ]
        verdicts = {
            "every acknowledged message stored once (no loss)": not lost and states.get("failed", 0) == 0,
            "every message processed": states.get("pending", 0) == 0 and len(processed_s) == len(rows),
            "no callback answered other than 200": not non200 and sent.errors == 0,
            "nothing sent twice (simulator's log against the hub's commands)": not unmatched
            and not doubled
            and not queued_twice,
            f"ack p99 < {TARGETS['ack_p99_ms']:g} ms": pct(ack_ms, 0.99) < TARGETS["ack_p99_ms"],
            f"message->processed p99 < {TARGETS['processed_p99_s']:g} s": pct(processed_s, 0.99)
            < TARGETS["processed_p99_s"],
        }
        return lines, verdicts


def peak_rate(times: list[float], window_s: float = 5.0) -> float:
    """The most messages processed within any `window_s`, per second."""
    times, best, start = sorted(times), 0, 0
    for end, at in enumerate(times):
        while times[start] < at - window_s:
            start += 1
        best = max(best, end - start + 1)
    return best / window_s


def _dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def run(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> bool:
    load = Run(args, tmp, stack)
    load.start()
    sent = asyncio.run(load.drive())
    progress("verifying...")
    lines, verdicts = load.verify(sent)
    db = "sqlite" if load.db_url.startswith("sqlite") else "postgres"
    print(
        f"\n== load: {args.servers} server(s), {args.workers} worker(s), {db}, "
        f"{args.rate:g} callbacks/s for {args.duration:g} s =="
    )
    print("\n".join(lines))
    print("\n".join(f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in verdicts.items()))
    problems = [p.name for p in load.procs if p.popen.poll() is not None]
    if problems:
        print(f"FAIL  processes died during the run: {problems}")
    return all(verdicts.values()) and not problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="WorkTool Hub load test of the real stack")
    parser.add_argument("--servers", type=int, default=1, help="hub serve processes")
    parser.add_argument("--workers", type=int, default=1, help="hub worker processes")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--db-url", help="an existing database instead (migrated first)")
    parser.add_argument("--rate", type=float, default=500.0, help="callbacks per second (copies included)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="seconds to wait for the backlog")
    parser.add_argument(
        "--no-pacing",
        action="store_true",
        help="lift the robots' send pacing (worktool.pacing); WorkTool's request budget stays (60 requests/min "
        "for all robots, which the simulator enforces too), so sends stay capped near 1/s",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main("load", lambda tmp, stack: run(args, tmp, stack))


if __name__ == "__main__":
    sys.exit(main())
