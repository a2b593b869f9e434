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
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NoReturn

import aiohttp

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.embedded_redis import free_port, start_redis  # noqa: E402

JSON: Final = {"Content-Type": "application/json"}
ROBOT1, ROBOT2, ROBOT1_NAME = "wt-robot-1", "wt-robot-2", "小助手"  # as registered in config.yaml
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
SENDERS: Final = [
    s + a + b for s in "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗" for a in _GIVEN[:10] for b in _GIVEN[10:]
]
_CITIES, _TOPICS = (
    "北京 上海 广州 深圳 杭州 成都 武汉 南京 西安 重庆".split(),
    "售后 客服 会员 渠道 团购 代理 批发 新品 活动 直播".split(),
)
GROUPS: Final = [f"{c}{t}{n}群" for c in _CITIES for t in _TOPICS for n in range(1, 4)]  # 300 groups, 2000 senders
REMARKS: Final = [f"{g}备注" if i % 3 else "" for i, g in enumerate(GROUPS)]
CHARS: Final = list(
    dict.fromkeys(
        "你好请问订单什么时候发货退款换货地址修改电话快递已经收到了谢谢质量问题怎么办客服在吗价格优惠"
        "活动还有没我们这边需要开发票麻烦帮忙查一下物流信息今天明天下午上午几点能到为啥动静颜色尺码"
    )
)


class BenchError(RuntimeError):
    """The benchmark could not run (a child process failed to start, wrk failed, ...)."""


def progress(message: str) -> None:
    print(f"-- {message}", flush=True)  # noqa: T201


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
        at_me = n % 3 == 0
        raw = f"@{ROBOT1_NAME} {text}" if at_me else text

        def body(spoken: str, at: bool | str, mid: str) -> bytes:
            fields = {
                "spoken": spoken,
                "rawSpoken": raw,
                "receivedName": sender,
                "groupName": GROUPS[g],
                "groupRemark": REMARKS[g],
                "roomType": 1,
                "atMe": at,
                "textType": 1,
                "messageId": mid,
            }
            return json.dumps(fields, ensure_ascii=False).encode()

        at_value: bool | str = at_me if n % 2 else str(at_me).lower()
        ext = f"{self.prefix}-{n}"
        out = [Callback(ROBOT1, body(text, at_value, ext), "orig")]
        if n % 10 == 3:
            out.append(Callback(ROBOT2, body(raw, False, f"{ext}-c"), "copy"))
        if n % 20 == 7:
            out.append(Callback(ROBOT1, out[0].body, "redo"))
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
    extra: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else math.nan


LUA: Final = r"""
local G, R, S, C = {@GROUPS@}, {@REMARKS@}, {@SENDERS@}, {@CHARS@}
local PREFIX, OUT, AT, HDR = "@PREFIX@", "@OUT@", "@AT@", {["Content-Type"] = "application/json"}
local P1, P2 = "/worktool/@R1@/message?token=@TOKEN@", "/worktool/@R2@/message?token=@TOKEN@"
local FMT = '{"spoken":"%s","rawSpoken":"%s","receivedName":"%s","groupName":"%s","groupRemark":"%s",'
  .. '"roomType":1,"atMe":%s,"textType":1,"messageId":"%s"}'
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
  local at = n % 3 == 0
  local raw, atv = at and ("@" .. AT .. " " .. text) or text, at and "true" or "false"
  if n % 2 == 0 then atv = '"' .. atv .. '"' end
  local ext = PREFIX .. "-" .. tid .. "-" .. n
  local first = wrk.format("POST", P1, HDR, string.format(FMT, text, raw, s, G[g], R[g], atv, ext))
  n_orig = n_orig + 1
  if n % 10 == 3 then
    n_copy = n_copy + 1
    queue[#queue + 1] = wrk.format("POST", P2, HDR, string.format(FMT, raw, raw, s, G[g], R[g], "false", ext .. "-c"))
  end
  if n % 20 == 7 then n_redo = n_redo + 1; queue[#queue + 1] = first end
  return first
end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1; return end
  if body:find('"duplicate": false', 1, true) then new_ids[#new_ids + 1] = body:match('"messageId": (%d+)') end
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


def run_wrk(wrk: str, base: str, token: str, args: argparse.Namespace, seconds: float, prefix: str, tmp: Path) -> Load:
    out, script = tmp / f"{prefix}.json", tmp / f"{prefix}.lua"
    quoted = {"GROUPS": GROUPS, "REMARKS": REMARKS, "SENDERS": SENDERS, "CHARS": CHARS}
    text = LUA
    for key, values in quoted.items():
        text = text.replace(f"@{key}@", ",".join(f'"{v}"' for v in values))
    for key, value in {
        "PREFIX": prefix,
        "OUT": str(out),
        "AT": ROBOT1_NAME,
        "R1": ROBOT1,
        "R2": ROBOT2,
        "TOKEN": token,
    }.items():
        text = text.replace(f"@{key}@", value)
    script.write_text(text, encoding="utf-8")
    cmd = [
        wrk,
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{math.ceil(seconds)}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0 or not out.exists():
        raise BenchError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}")
    data = json.loads(out.read_text(encoding="utf-8"))
    load = Load(data["us"] / 1e6, data["requests"], data["non2xx"], data["errors"], new_ids=set(data["new_ids"]))
    load.sent.update(orig=data["orig"], copy=data["copy"], redo=data["redo"])
    load.extra = f"wrk latency at saturation: p50 {data['p50'] / 1000:.1f} ms, p99 {data['p99'] / 1000:.1f} ms"
    return load


async def _post(session: aiohttp.ClientSession, base: str, cb: Callback, load: Load, scheduled: float | None) -> None:
    loop = asyncio.get_running_loop()
    if scheduled is not None:
        load.max_lag = max(load.max_lag, loop.time() - scheduled)
    load.sent[cb.kind] += 1
    try:
        async with session.post(base.replace("{robot}", cb.robot), data=cb.body, headers=JSON) as resp:
            status, raw = resp.status, await resp.read()
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


async def closed_loop(base: str, connections: int, seconds: float, prefix: str) -> Load:
    """The fallback saturating generator: `connections` clients, each sending its next callback on an answer."""
    loop, traffic, pending, load = asyncio.get_running_loop(), Traffic(prefix, 1), deque[Callback](), Load(seconds)
    async with _session(connections) as session:
        started = loop.time()
        deadline = started + seconds

        async def client() -> None:
            while loop.time() < deadline:
                if not pending:
                    pending.extend(traffic.next_message())
                await _post(session, base, pending.popleft(), load, None)

        await asyncio.gather(*(client() for _ in range(connections)))
        load.seconds = loop.time() - started
    return load


async def open_loop(base: str, rate: float, seconds: float, prefix: str) -> Load:
    """`rate` callbacks/s on a fixed timetable (copies 0-50 ms, re-deliveries 0.1-1 s after their original)."""
    traffic, plan = Traffic(prefix, 2), list[tuple[float, Callback]]()
    msg_rate = rate / 1.15  # per 20 messages: 20 originals + 2 copies + 1 re-delivery
    for i in range(int(msg_rate * seconds)):
        for cb in traffic.next_message():
            delay = {"orig": 0.0, "copy": traffic.rng.uniform(0, 0.05), "redo": traffic.rng.uniform(0.1, 1.0)}[cb.kind]
            plan.append((i / msg_rate + delay, cb))
    plan.sort(key=lambda item: item[0])
    loop, load, tasks = asyncio.get_running_loop(), Load(seconds), list[asyncio.Task[None]]()
    async with _session(200) as session:
        start = loop.time() + 0.05
        for offset, cb in plan:
            if (wait := start + offset - loop.time()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(_post(session, base, cb, load, start + offset)))
        await asyncio.gather(*tasks)
    load.seconds = plan[-1][0] if plan else seconds
    return load


@dataclass(frozen=True)
class Counts:
    messages: int
    sightings: int
    max_id: int
    unmerged: int  # messages no robot-1 sighting reported: a robot-2 copy stored as a message of its own


COUNT_SQL: Final = (
    "SELECT (SELECT count(*) FROM inbound_messages), (SELECT count(*) FROM message_sightings), "
    "(SELECT coalesce(max(id), 0) FROM inbound_messages), (SELECT count(*) FROM inbound_messages m WHERE NOT EXISTS "
    f"(SELECT 1 FROM message_sightings s WHERE s.message_id = m.id AND s.robot_id = '{ROBOT1}'))"
)


def fetch(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(ROOT / url.removeprefix("sqlite://").split("?")[0], timeout=10)) as db:
            return db.execute(sql.replace("$1", "?"), params).fetchall()
    return asyncio.run(_pg_fetch("postgresql://" + url.split("://", 1)[1].split("?")[0], sql, params))


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
        now = Counts(*fetch(url, COUNT_SQL)[0])
        if now == last:
            break
        last = now
    return last


@dataclass(frozen=True)
class Check:
    phase: str
    unique_sent: int
    acked_new: int
    stored: int
    lost: int
    copies: int
    merged: int
    unmerged: int
    slack: int  # requests wrk had in flight when it stopped may be stored without being counted as acknowledged

    @property
    def ok(self) -> bool:
        extra = self.stored - self.acked_new
        return (
            self.lost == 0
            and 0 <= extra <= self.slack
            and abs(self.merged - self.copies) <= self.slack
            and self.unmerged <= self.slack
        )


def check(phase: str, url: str, before: Counts, load: Load, slack: int) -> Check:
    after = settled_counts(url)
    ids = {int(row[0]) for row in fetch(url, "SELECT id FROM inbound_messages WHERE id > $1", before.max_id)}
    stored = after.messages - before.messages
    copies = load.acked["copy"] if load.acked else load.sent["copy"]
    return Check(
        phase,
        load.sent["orig"],
        len(load.new_ids),
        stored,
        len(load.new_ids - ids),
        copies,
        after.sightings - before.sightings - stored,
        after.unmerged - before.unmerged,
        slack,
    )
