"""Ingest benchmark: persisted callback throughput against a bare aiohttp handler, ack latency, and losses.

Starts a throwaway Redis, the baseline (`scripts/bare_server.py`) and the real server (`hub serve`, no worker) as
child processes, loads both with the same generator (wrk, else an aiohttp client), measures ack latency with an
open-loop sender, then counts the stored rows. Targets: hub >= 50% of bare, p99 < 50 ms, nothing lost.
Usage: `python scripts/bench_ingest.py [--quick] [--duration S] [--rate N] [--db-url postgres://...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.embedded_redis import free_port, start_redis  # noqa: E402
from scripts.benchkit import BenchError, process_cpu_s, progress, run_main, tail  # noqa: E402

ROBOT1, ROBOT2, ROBOT1_NAME = "wt-robot-1", "wt-robot-2", "小助手"  # as registered in config.yaml
_GIVEN, _SURNAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平", "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
SENDERS: Final = [s + a + b for s in _SURNAMES for a in _GIVEN[:10] for b in _GIVEN[10:]]  # 2000
GROUPS: Final = [
    f"{c}{t}{n}群"
    for c in "京沪穗深杭蓉汉宁陕渝"
    for t in ("售后", "客服", "会员", "渠道", "团购", "代理", "批发", "新品", "活动", "直播")
    for n in range(1, 4)
]  # 300
REMARKS: Final = [f"{g}备注" if i % 3 else "" for i, g in enumerate(GROUPS)]
CHARS: Final = list(
    dict.fromkeys(
        "你好请问订单什么时候发货退款换货地址修改电话快递已经收到了谢谢质量问题怎么办客服在吗"
        "价格优惠活动还有没我们这边需要开发票麻烦帮忙查一下物流信息今天明天下午几点能到为啥"
    )
)
# Shaped like the samples; the same %-template serves Python and wrk's Lua (pool strings need no JSON escaping).
BODY: Final = (
    '{"spoken":"%s","rawSpoken":"%s","receivedName":"%s","groupName":"%s","groupRemark":"%s",'
    '"roomType":1,"atMe":%s,"textType":1,"messageId":"%s"}'
)


@dataclass(frozen=True, slots=True)
class Callback:
    robot: str
    body: bytes
    kind: str  # orig | copy (another robot's report) | redo (same robot, same messageId again)


class Traffic:
    """Message n goes to robot 1; every 10th also comes from robot 2 (own messageId), every 20th is re-delivered."""

    def __init__(self, prefix: str, seed: int) -> None:
        self.prefix, self.n, self.rng = prefix, 0, random.Random(seed)

    def next_message(self) -> list[Callback]:
        self.n += 1
        n, rng = self.n, self.rng
        g, sender = rng.randrange(len(GROUPS)), rng.choice(SENDERS)
        text = "".join(rng.choices(CHARS, k=rng.randint(5, 40)))
        raw = f"@{ROBOT1_NAME} {text}" if n % 3 == 0 else text
        at_me = "true" if n % 3 == 0 else "false"
        at_me = f'"{at_me}"' if n % 2 == 0 else at_me  # WorkTool sends both the strings and JSON booleans
        ext = f"{self.prefix}-{n}"
        first = Callback(ROBOT1, (BODY % (text, raw, sender, GROUPS[g], REMARKS[g], at_me, ext)).encode(), "orig")
        out = [first]
        if n % 10 == 3:  # robot 2 did not get the @: its spoken is the raw text
            body = BODY % (raw, raw, sender, GROUPS[g], REMARKS[g], "false", f"{ext}-c")
            out.append(Callback(ROBOT2, body.encode(), "copy"))
        if n % 20 == 7:
            out.append(Callback(ROBOT1, first.body, "redo"))
        return out


@dataclass
class Load:
    seconds: float
    requests: int = 0  # completed
    non2xx: int = 0
    errors: int = 0  # socket errors / timeouts
    sent: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)  # 2xx by kind (unknown with wrk)
    new_ids: set[int] = field(default_factory=set)  # message ids the hub acknowledged with duplicate=false
    latencies: list[float] = field(default_factory=list)
    max_lag: float = 0.0  # open loop: how late the sender was against its timetable
    extra: str = "closed loop"
    cpu_s: float = 0.0  # the server process's CPU time (user + system) during the phase

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s * 1e6 / self.requests if self.requests else math.nan

    @classmethod
    def merge(cls, parts: list[Load]) -> Load:
        total = cls(sum(p.seconds for p in parts), extra=parts[-1].extra)
        for part in parts:
            total.requests += part.requests
            total.non2xx += part.non2xx
            total.errors += part.errors
            total.sent.update(part.sent)
            total.acked.update(part.acked)
            total.new_ids |= part.new_ids
            total.cpu_s += part.cpu_s
        return total

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else math.nan


LUA: Final = r"""
local G, R, S, C = {@GROUPS@}, {@REMARKS@}, {@SENDERS@}, {@CHARS@}
local PREFIX, OUT, AT, BODY, HDR = "@PREFIX@", "@OUT@", "@AT@", '@BODY@', {["Content-Type"] = "application/json"}
local P1, P2 = "/worktool/@R1@/message?token=@TOKEN@", "/worktool/@R2@/message?token=@TOKEN@"
local threads, queue, n = {}, {}, 0
n_orig, n_copy, n_redo, non2xx, new_ids = 0, 0, 0, 0, {}
function setup(thread) table.insert(threads, thread); thread:set("tid", #threads) end
function init(args) math.randomseed(tid * 7919) end
function request()
  if #queue > 0 then return table.remove(queue, 1) end
  n = n + 1
  local g, s, parts = math.random(#G), S[math.random(#S)], {}
  for i = 1, math.random(5, 40) do parts[i] = C[math.random(#C)] end
  local text = table.concat(parts)
  local raw, atv = n % 3 == 0 and ("@" .. AT .. " " .. text) or text, n % 3 == 0 and "true" or "false"
  if n % 2 == 0 then atv = '"' .. atv .. '"' end
  local ext = PREFIX .. "-" .. tid .. "-" .. n
  local first = wrk.format("POST", P1, HDR, string.format(BODY, text, raw, s, G[g], R[g], atv, ext))
  n_orig = n_orig + 1
  if n % 10 == 3 then
    n_copy = n_copy + 1
    queue[#queue + 1] = wrk.format("POST", P2, HDR, string.format(BODY, raw, raw, s, G[g], R[g], "false", ext .. "-c"))
  end
  if n % 20 == 7 then n_redo = n_redo + 1; queue[#queue + 1] = first end
  return first
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1; return end
  if body:find('"duplicate":%s*false') then new_ids[#new_ids + 1] = body:match('"messageId":%s*(%d+)') end
end
function done(summary, latency, requests)
  local o, c, r, bad, ids, e = 0, 0, 0, 0, {}, summary.errors
  for _, t in ipairs(threads) do
    o, c, r, bad = o + t:get("n_orig"), c + t:get("n_copy"), r + t:get("n_redo"), bad + t:get("non2xx")
    for _, id in ipairs(t:get("new_ids")) do ids[#ids + 1] = id end
  end
  local f = io.open(OUT, "w")
  f:write(string.format('{"requests":%d,"us":%d,"errors":%d,"non2xx":%d,"orig":%d,"copy":%d,"redo":%d,'
    .. '"p50":%d,"p99":%d,"new_ids":[%s]}', summary.requests, summary.duration, e.connect + e.read + e.write
    + e.timeout, bad, o, c, r, latency:percentile(50), latency:percentile(99), table.concat(ids, ",")))
  f:close()
end
"""


async def _post(session: aiohttp.ClientSession, url: str, cb: Callback, load: Load, scheduled: float | None) -> None:
    loop = asyncio.get_running_loop()
    if scheduled is not None:
        load.max_lag = max(load.max_lag, loop.time() - scheduled)
    load.sent[cb.kind] += 1
    try:
        async with session.post(
            url.format(robot=cb.robot), data=cb.body, headers={"Content-Type": "application/json"}
        ) as r:
            status, raw = r.status, await r.read()
    except (aiohttp.ClientError, TimeoutError):
        load.errors += 1
        return
    load.requests += 1
    if not 200 <= status < 300:
        load.non2xx += 1
        return
    load.acked[cb.kind] += 1
    if scheduled is not None:
        load.latencies.append(loop.time() - scheduled)
    answer = json.loads(raw)
    if answer.get("duplicate") is False:
        load.new_ids.add(int(answer["messageId"]))


def _session(limit: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), timeout=aiohttp.ClientTimeout(total=30))


async def closed_loop(url: str, connections: int, seconds: float, prefix: str) -> Load:
    """The fallback saturating generator: `connections` clients, each sending its next callback on an answer."""
    loop, traffic, pending, load = asyncio.get_running_loop(), Traffic(prefix, 1), deque[Callback](), Load(seconds)
    async with _session(connections) as session:
        started = loop.time()

        async def client() -> None:
            while loop.time() < started + seconds:
                if not pending:
                    pending.extend(traffic.next_message())
                await _post(session, url, pending.popleft(), load, None)

        await asyncio.gather(*(client() for _ in range(connections)))
        load.seconds = loop.time() - started
    return load


async def open_loop(url: str, rate: float, seconds: float, prefix: str) -> Load:
    """`rate` callbacks/s on a fixed timetable (copies 0-50 ms, re-deliveries 0.1-1 s after their original)."""
    traffic, plan = Traffic(prefix, 2), list[tuple[float, Callback]]()
    msg_rate = rate / 1.15  # per 20 messages: 20 originals + 2 copies + 1 re-delivery
    for i in range(int(msg_rate * seconds)):
        for cb in traffic.next_message():
            delay = {"orig": 0.0, "copy": traffic.rng.uniform(0, 0.05), "redo": traffic.rng.uniform(0.1, 1.0)}[cb.kind]
            if (at := i / msg_rate + delay) < seconds:  # the timetable ends with the phase
                plan.append((at, cb))
    plan.sort(key=lambda item: item[0])
    loop, load, tasks = asyncio.get_running_loop(), Load(seconds), list[asyncio.Task[None]]()
    async with _session(200) as session:
        start = loop.time() + 0.05
        for offset, cb in plan:
            if (wait := start + offset - loop.time()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(_post(session, url, cb, load, start + offset)))
        await asyncio.gather(*tasks)
    return load


@dataclass(frozen=True)
class Counts:
    messages: int
    sightings: int
    max_id: int
    unmerged: int  # messages robot 1 never reported: a robot-2 copy stored as a message of its own


# A message row carries its first reporter; message_sightings holds the other robots' copies.
COUNT_SQL: Final = (
    "SELECT (SELECT count(*) FROM inbound_messages), (SELECT count(*) FROM message_sightings), "
    "(SELECT coalesce(max(id), 0) FROM inbound_messages), (SELECT count(*) FROM inbound_messages m WHERE "
    f"m.robot_id <> '{ROBOT1}' AND NOT EXISTS "
    f"(SELECT 1 FROM message_sightings s WHERE s.message_id = m.id AND s.robot_id = '{ROBOT1}'))"
)


def fetch(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(ROOT / url.removeprefix("sqlite://").split("?")[0], timeout=10)) as db:
            return db.execute(sql.replace("$1", "?"), params).fetchall()
    return asyncio.run(_pg_fetch("postgresql://" + url.split("://", 1)[1].split("?", 1)[0], sql, params))


async def _pg_fetch(dsn: str, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(row) for row in await conn.fetch(sql, *params)]
    finally:
        await conn.close()


def settled_counts(url: str) -> Counts:
    """Counts once the writer has committed everything still in flight (two equal reads 0.3 s apart)."""
    last = Counts(*fetch(url, COUNT_SQL)[0])
    for _ in range(50):
        time.sleep(0.3)
        if (now := Counts(*fetch(url, COUNT_SQL)[0])) == last:
            break
        last = now
    return last


@dataclass(frozen=True)
class Check:
    phase: str
    unique_sent: int
    acked_new: int
    stored: int
    lost: int  # acknowledged as new, but no such row
    copies: int
    merged: int  # sightings beyond one per stored message
    unmerged: int
    slack: int  # callbacks in flight when wrk stopped (or timed out) may be stored without being acknowledged

    @property
    def ok(self) -> bool:
        fit = 0 <= self.stored - self.acked_new <= self.slack and abs(self.merged - self.copies) <= self.slack
        return self.lost == 0 and fit and self.unmerged <= self.slack

    def line(self) -> str:
        cut = f", {self.stored - self.acked_new} of them in flight at the cut-off" if self.slack else ""
        return (
            f"lost ({self.phase}): {self.lost}  (acknowledged {self.acked_new} new of {self.unique_sent} unique sent, "
            f"stored {self.stored}{cut}; copies merged {self.merged} of {self.copies}, stored apart {self.unmerged})"
        )


def check(phase: str, url: str, before: Counts, load: Load, slack: int) -> Check:
    after = settled_counts(url)
    ids = {int(row[0]) for row in fetch(url, "SELECT id FROM inbound_messages WHERE id > $1", before.max_id)}
    stored, copies = after.messages - before.messages, load.acked["copy"] if load.acked else load.sent["copy"]
    merged, unmerged = after.sightings - before.sightings, after.unmerged - before.unmerged
    return Check(
        phase, load.sent["orig"], len(load.new_ids), stored, len(load.new_ids - ids), copies, merged, unmerged, slack
    )


def spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # own session: Ctrl-C reaches only us, and we stop the children in order
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{log.stem} server exited with {proc.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"no 200 from /healthz on port {port} within {timeout_s:g} s:\n{tail(log)}")


def stop(proc: subprocess.Popen[bytes]) -> float:
    """SIGTERM, SIGKILL after 20 s; returns the seconds it took to exit."""
    started = time.monotonic()
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return time.monotonic() - started


def find_wrk() -> str | None:
    if (found := shutil.which("wrk")) or os.geteuid() != 0:
        return found
    progress("wrk not on PATH; trying apt-get install -y wrk...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], env=env, capture_output=True, timeout=180, check=False
        )
    return shutil.which("wrk")


@dataclass
class Bench:
    args: argparse.Namespace
    tmp: Path
    wrk: str | None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    rounds: dict[str, list[Load]] = field(default_factory=lambda: {"bare": [], "hub": []})
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}/worktool/{{robot}}/message?token={self.token}"

    def saturate(self, port: int, seconds: float, label: str, pid: int | None = None) -> Load:
        cpu_before = process_cpu_s(pid) if pid is not None else 0.0
        load = self._saturate(port, seconds, label)
        load.cpu_s = process_cpu_s(pid) - cpu_before if pid is not None else 0.0
        return load

    def _saturate(self, port: int, seconds: float, label: str) -> Load:
        prefix = f"{self.run_id}-{label}"  # messageIds never repeat across phases and runs
        if self.wrk is None:
            return asyncio.run(closed_loop(self.url(port), self.args.connections, seconds, prefix))
        out, script = self.tmp / f"{prefix}.json", self.tmp / f"{prefix}.lua"
        values = {"BODY": BODY, "PREFIX": prefix, "OUT": str(out), "AT": ROBOT1_NAME, "R1": ROBOT1, "R2": ROBOT2}
        values |= {"TOKEN": self.token} | {k: ",".join(f'"{v}"' for v in pool) for k, pool in POOLS.items()}
        script.write_text(re.sub(r"@([A-Z0-9]+)@", lambda m: values[m[1]], LUA), encoding="utf-8")
        a = self.args
        cmd = [self.wrk, f"-t{a.wrk_threads}", f"-c{a.connections}", f"-d{math.ceil(seconds)}s", "--timeout", "10s"]
        done = subprocess.run(
            [*cmd, "-s", str(script), f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
        if done.returncode != 0 or not out.exists():
            raise BenchError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}")
        data = json.loads(out.read_text(encoding="utf-8"))
        load = Load(data["us"] / 1e6, data["requests"], data["non2xx"], data["errors"], new_ids=set(data["new_ids"]))
        load.sent.update(orig=data["orig"], copy=data["copy"], redo=data["redo"])
        load.extra = f"wrk latency at saturation: p50 {data['p50'] / 1000:.1f} ms, p99 {data['p99'] / 1000:.1f} ms"
        return load


POOLS: Final = {"GROUPS": GROUPS, "REMARKS": REMARKS, "SENDERS": SENDERS, "CHARS": CHARS}


def report(bench: Bench, loads: dict[str, Load], checks: list[Check], notes: list[str]) -> bool:
    args, bare, hub, lat, floor = bench.args, loads["bare"], loads["hub"], loads["latency"], loads["bare latency"]
    ratio, lat_errors, p99 = hub.rps / bare.rps if bare.rps else 0.0, lat.errors + lat.non2xx, lat.pct(0.99)
    db = "sqlite" if args.db_url is None else args.db_url.split(":")[0]
    generator = f"wrk -t{args.wrk_threads}" if bench.wrk else "aiohttp client generator (no wrk)"
    cpu_ratio = bare.cpu_us_per_request / hub.cpu_us_per_request if hub.cpu_s else math.nan
    rounds = "  ".join(
        f"{b.rps:.0f}/{h.rps:.0f}" for b, h in zip(bench.rounds["bare"], bench.rounds["hub"], strict=True)
    )
    rows = [
        (
            f"\n== ingest benchmark: {generator}, {args.connections} connections, {args.rounds} alternating rounds "
            f"of {args.duration / args.rounds:g} s per server; {db} =="
        ),
        f"bare aiohttp handler:    {bare.rps:7.0f} req/s  ({bare.extra})",
        (
            f"hub ingest (persisted):  {hub.rps:7.0f} req/s  ({ratio:.1%} of bare; target >= 50%; "
            f"non-2xx {hub.non2xx}, socket errors {hub.errors}; {hub.extra})"
        ),
        f"  per round, bare/hub req/s: {rounds}",
        (
            f"  server CPU per callback: bare {bare.cpu_us_per_request:.0f} us, hub {hub.cpu_us_per_request:.0f} us "
            f"(hub costs {1 / cpu_ratio:.2f}x the bare handler; the box is shared, so this is the steadier figure)"
        ),
        (
            f"ack latency at {args.rate:g}/s:  p50 {lat.pct(0.5):.1f} ms  p95 {lat.pct(0.95):.1f} ms  "
            f"p99 {p99:.1f} ms  max {lat.pct(1.0):.1f} ms  errors {lat_errors}  (target p99 < 50 ms; "
            f"{sum(lat.sent.values())} callbacks in {lat.seconds:.1f} s, sender lag max {lat.max_lag * 1000:.1f} ms)"
        ),
        (
            f"  same sender against the bare handler: p50 {floor.pct(0.5):.1f} ms  p99 {floor.pct(0.99):.1f} ms  "
            f"max {floor.pct(1.0):.1f} ms  (sender lag max {floor.max_lag * 1000:.1f} ms)"
        ),
        *(c.line() for c in checks),
        *(f"note: {note}" for note in notes),
    ]
    verdicts = {
        "hub throughput >= 50% of the bare handler": ratio >= 0.5,
        f"ack p99 < 50 ms at {args.rate:g} callbacks/s, no errors": p99 < 50 and lat_errors == 0,
        "none lost: every acknowledged callback stored once, copies merged": all(c.ok for c in checks),
    }
    rows += [f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in verdicts.items()]
    print("\n".join(rows))
    return all(verdicts.values())


def server_notes(log: Path, shutdown_s: float) -> list[str]:
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    notes = [f"the hub logged {len(lines)} lines at WARNING and above; first: {line[:300]}" for line in lines[:1]]
    notes += [f"  {line[:300]}" for line in lines[1:6]]
    if shutdown_s > 5:
        notes.append(f"the hub took {shutdown_s:.1f} s to exit after SIGTERM")
    return notes


def run(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack) -> bool:
    bench = Bench(args, tmp, None if args.no_wrk else find_wrk())
    warm, py, loads = 1.0 if args.quick else 2.0, sys.executable, dict[str, Load]()
    progress(f"load generator: {bench.wrk or 'aiohttp client (no wrk)'}; starting redis...")
    redis = start_redis(free_port())
    stack.callback(redis.stop)
    bare_port = free_port()
    progress(f"starting the bare aiohttp handler on port {bare_port}...")
    bare_proc = spawn(
        [py, str(ROOT / "scripts" / "bare_server.py"), str(bare_port)], dict(os.environ), tmp / "bare.log"
    )
    stack.callback(stop, bare_proc)
    wait_healthy(bare_proc, bare_port, tmp / "bare.log")

    db_url, port = args.db_url or f"sqlite://{tmp}/bench.sqlite3", free_port()
    env = {**os.environ, "HUB__DATABASE__URL": db_url, "HUB__REDIS__URL": redis.url, "HUB__REDIS__EMBEDDED": "false"}
    env |= {"HUB__SERVER__PORT": str(port), "HUB__DATA_DIR": str(tmp), "HUB__WORKTOOL__CALLBACK_TOKEN": bench.token}
    api_tokens = [{"token": secrets.token_urlsafe(24), "role": "admin", "name": "bench"}]
    env |= {"HUB__API__TOKENS": json.dumps(api_tokens), "HUB__LOGGING__LEVEL": "WARNING"}
    progress("migrating the database...")
    cmd = [py, "-m", "bot.cli", "migrate"]
    migrated = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    if migrated.returncode != 0:
        raise BenchError(f"hub migrate failed ({migrated.returncode}):\n{(migrated.stdout + migrated.stderr)[-2000:]}")
    progress(f"starting the hub server on port {port} (no worker)...")
    hub_proc = spawn([py, "-m", "bot.cli", "serve"], env, tmp / "hub.log")
    stack.callback(stop, hub_proc)
    wait_healthy(hub_proc, port, tmp / "hub.log")
    progress(f"warming up both for {warm:g} s...")
    bench.saturate(bare_port, warm, "bw")
    bench.saturate(port, warm, "hw")

    # Alternate short rounds so that whatever else the shared box is doing hits both servers alike.
    each = args.duration / args.rounds
    before = settled_counts(db_url)
    for n in range(args.rounds):
        progress(f"round {n + 1}/{args.rounds}: bare handler {each:g} s, then hub ingest {each:g} s...")
        bench.rounds["bare"].append(bench.saturate(bare_port, each, f"b{n}", bare_proc.pid))
        bench.rounds["hub"].append(bench.saturate(port, each, f"h{n}", hub_proc.pid))
    loads["bare"], loads["hub"] = Load.merge(bench.rounds["bare"]), Load.merge(bench.rounds["hub"])
    progress("counting stored rows...")
    slack = loads["hub"].errors + (args.connections * args.rounds if bench.wrk else 0)
    checks = [check("throughput phase", db_url, before, loads["hub"], slack)]

    progress(f"measuring the bare handler's ack latency at {args.rate:g}/s (the measurement floor)...")
    loads["bare latency"] = asyncio.run(open_loop(bench.url(bare_port), args.rate, args.latency_duration, "floor"))
    stop(bare_proc)
    before = settled_counts(db_url)
    progress(f"measuring ack latency at {args.rate:g} callbacks/s for {args.latency_duration:g} s (open loop)...")
    loads["latency"] = lat = asyncio.run(
        open_loop(bench.url(port), args.rate, args.latency_duration, f"{bench.run_id}-l")
    )
    progress("counting stored rows...")
    checks.append(check("latency phase", db_url, before, lat, lat.errors))
    progress("stopping the hub...")
    notes = server_notes(tmp / "hub.log", stop(hub_proc))
    if lat.max_lag > 0.02:
        notes.append(f"the latency sender fell up to {lat.max_lag * 1000:.0f} ms behind its timetable")
    return report(bench, loads, checks, notes)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="WorkTool Hub ingest benchmark (throughput, ack latency, losses)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of saturating load per server")
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/hub rounds the duration is split into")
    parser.add_argument("--latency-duration", type=float, default=10.0, help="seconds of the open-loop latency phase")
    parser.add_argument("--rate", type=float, default=500.0, help="callbacks/s in the latency phase")
    parser.add_argument("--connections", type=int, default=20, help="concurrent connections when saturating")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (the box has 2 cores to share)")
    parser.add_argument("--db-url", help="database for the hub (default: a SQLite file in the temp dir)")
    parser.add_argument("--no-wrk", action="store_true", help="use the aiohttp client generator even if wrk exists")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s phases, 200 callbacks/s")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.latency_duration, args.rate = 2.0, 2.0, 200.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main("bench_ingest", lambda tmp, stack: run(args, tmp, stack))


if __name__ == "__main__":
    sys.exit(main())
