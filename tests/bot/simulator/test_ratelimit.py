"""The per-IP request limit shared by every WorkTool endpoint: 429 past it, violations counted."""

from __future__ import annotations

import asyncio

from bot.simulator.state import SlidingWindowLimiter
from tests.bot.simulator.conftest import SimFactory, text


async def test_429_after_the_limit_across_all_endpoints(make_sim: SimFactory) -> None:
    sim = await make_sim(limit_per_window=4, window_s=60)
    answers = [
        await sim.send([text()]),
        await sim.call("GET", "/robot/robotInfo/online", robotId="wt-robot-1"),
        await sim.call("GET", "/robot/rawMsg/list", robotId="wt-robot-1"),
        await sim.call("GET", "/robot/robotInfo/get", robotId="nobody"),  # refused requests count too
        await sim.send([text()]),
    ]
    assert [a["_status"] for a in answers] == [200, 200, 200, 200, 429]
    assert (answers[-1]["code"], answers[-1]["message"]) == (429, "请求过于频繁")
    assert len(sim.state.commands) == 1  # the limited send was dropped
    for _ in range(5):  # control endpoints are never limited and never counted
        assert (await sim.call("GET", "/_sim/stats"))["_status"] == 200
    stats = (await sim.call("GET", "/_sim/stats"))["data"]
    assert (stats["requests"], stats["rateLimited"]) == (5, 1)
    requests = (await sim.call("GET", "/_sim/requests"))["data"]
    assert [r["rateLimited"] for r in requests] == [False] * 4 + [True]
    assert requests[-1]["status"] == 429


async def test_the_window_slides(make_sim: SimFactory) -> None:
    sim = await make_sim(limit_per_window=2, window_s=0.3)
    statuses = [(await sim.call("GET", "/robot/robotInfo/online", robotId="wt-robot-1"))["_status"] for _ in range(3)]
    assert statuses == [200, 200, 429]
    await asyncio.sleep(0.35)
    assert (await sim.call("GET", "/robot/robotInfo/online", robotId="wt-robot-1"))["_status"] == 200


def test_limiter_counts_per_key_and_forgets_old_hits() -> None:
    limiter = SlidingWindowLimiter(limit=2, window_s=60)
    assert limiter.allow("a", 0.0)
    assert limiter.allow("a", 30.0)
    assert not limiter.allow("a", 59.9)
    assert limiter.allow("b", 59.9)  # another IP has its own budget
    assert limiter.allow("a", 60.0)  # the hit at 0 s has left the window
    assert not limiter.allow("a", 60.5)
    assert limiter.allow("a", 90.0)
