"""Everything the simulated cloud remembers: robots, bound callback URLs, commands, the request log, limits."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
import structlog

from bot.simulator.payloads import SnowflakeIds
from bot.simulator.scenario import Override, ResultBehaviour, Robot, Scenario

log = structlog.get_logger(__name__)

CallbackKind = Literal["message", "result", "status"]
RecordKind = Literal["message", "result", "status", "binding_test"]
Outcome = Literal["pending", "queued", "succeeded", "failed", "partial", "lost"]
MESSAGE_CALLBACK_TYPE: Final = 11
RESULT_CALLBACK_TYPE: Final = 1
ONLINE_CALLBACK_TYPE: Final = 5
OFFLINE_CALLBACK_TYPE: Final = 6


class SlidingWindowLimiter:
    """At most `limit` requests per `window_s` per key (the source IP). Refused requests do not count."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


@dataclass(frozen=True, slots=True)
class Binding:
    id: int
    type: int
    url: str


@dataclass(slots=True)
class RobotState:
    id: str
    name: str
    online: bool
    reply_all: int
    behaviour: ResultBehaviour
    open_callback: int = 1
    bindings: dict[int, Binding] = field(default_factory=dict)  # by callback type
    queue: list[SimCommand] = field(default_factory=list)  # received while offline

    @classmethod
    def of(cls, robot: Robot) -> RobotState:
        return cls(robot.id, robot.name, robot.online, robot.reply_all, robot.result)


@dataclass(slots=True)
class SimCommand:
    message_id: str
    robot_id: str
    index: int  # position in its sendRawMessage batch
    command: dict[str, Any]
    behaviour: ResultBehaviour
    received_ms: int
    outcome: Outcome = "pending"
    executed_ms: int | None = None
    time_cost_s: float = 0.0
    error_code: int = 0
    error_reason: str = ""
    success_list: list[str] = field(default_factory=list)
    fail_list: list[str] = field(default_factory=list)
    result_posted_ms: int | None = None
    result_status: int | None = None  # HTTP status of the result callback; None: not posted or failed

    def to_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "robotId": self.robot_id,
            "index": self.index,
            "command": self.command,
            "mode": self.behaviour.mode,
            "outcome": self.outcome,
            "receivedAt": self.received_ms,
            "executedAt": self.executed_ms,
            "errorCode": self.error_code,
            "successList": self.success_list,
            "failList": self.fail_list,
            "visibleInPoll": self.behaviour.visible_in_poll,
            "resultPostedAt": self.result_posted_ms,
            "resultStatus": self.result_status,
        }


@dataclass(frozen=True, slots=True)
class RequestRecord:
    monotonic_s: float
    wall_ms: int
    method: str
    path: str
    robot_id: str | None
    remote: str
    status: int
    rate_limited: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "monotonic": self.monotonic_s,
            "wallTime": self.wall_ms,
            "method": self.method,
            "path": self.path,
            "robotId": self.robot_id,
            "remote": self.remote,
            "status": self.status,
            "rateLimited": self.rate_limited,
        }


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    kind: RecordKind
    robot_id: str
    url: str  # without the query string (it may carry a token)
    body: Mapping[str, Any]
    form: bool
    posted_ms: int
    status: int | None  # None: no answer (connection error, timeout)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "robotId": self.robot_id,
            "url": self.url,
            "body": self.body,
            "form": self.form,
            "postedAt": self.posted_ms,
            "status": self.status,
            "error": self.error,
        }


class SimState:
    """The simulated cloud. `time_scale` divides every simulated delay (10 = ten times faster); the rate-limit
    window is real time, because it limits the real client.

    Scenario robots start as if `hub worktool bind` had been run against `hub_url` (so `hub run` needs no
    binding step): message callback open with the scenario's `reply_all`, and without a URL bound for a
    type, callbacks go to `{hub_url}/worktool/{robot_id}/message|result?token=…`, status callbacks to
    `…/status?kind=online|offline&token=…`. A URL bound through robotInfo/update (message) or callBack/bind
    (1, 5, 6) takes over for its type."""

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        hub_url: str | None = None,
        token: str | None = None,
        time_scale: float = 1.0,
        limit_per_window: int = 60,
        window_s: float = 60.0,
        tz: str = "Asia/Shanghai",
        callback_timeout_s: float = 10.0,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.scenario = scenario or Scenario()
        self.cloud = self.scenario.cloud  # replaced as a whole by POST /_sim/cloud
        self.hub_url = hub_url.rstrip("/") if hub_url else None
        self.token = token
        self.time_scale = time_scale
        self.tz = ZoneInfo(tz)
        self.callback_timeout_s = callback_timeout_s
        self.limiter = SlidingWindowLimiter(limit_per_window, window_s)
        self.ids = SnowflakeIds()
        self.robots = {r.id: RobotState.of(r) for r in self.scenario.robots}
        self.overrides: list[Override] = list(self.scenario.overrides)
        self.commands: list[SimCommand] = []
        self.requests: list[RequestRecord] = []
        self.callbacks: list[CallbackRecord] = []
        self.rate_limited = 0
        self.binding_ids = itertools.count(1)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.session: aiohttp.ClientSession | None = None  # set by the app's cleanup context

    # time
    def scaled(self, seconds: float) -> float:
        return seconds / self.time_scale

    @staticmethod
    def wall_ms() -> int:
        return time.time_ns() // 1_000_000

    def next_id(self) -> str:
        return self.ids.next(self.wall_ms())

    # background work: every task is kept until done, cancelled on app cleanup
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=f"sim:{name}")
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("simulator task failed", task=task.get_name(), error=repr(exc), exc_info=exc)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until no background work is left (timelines, pending results, callbacks)."""
        async with asyncio.timeout(timeout_s):
            while self.tasks:
                await asyncio.wait(set(self.tasks))

    async def close(self) -> None:
        tasks = set(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # routing
    def callback_url(self, robot_id: str, kind: CallbackKind, *, online: bool = True) -> str | None:
        robot = self.robots.get(robot_id)
        callback_type = {
            "message": MESSAGE_CALLBACK_TYPE,
            "result": RESULT_CALLBACK_TYPE,
            "status": ONLINE_CALLBACK_TYPE if online else OFFLINE_CALLBACK_TYPE,
        }[kind]
        if robot is not None and callback_type in robot.bindings:
            return robot.bindings[callback_type].url
        if self.hub_url is None:
            return None
        query = {"kind": "online" if online else "offline"} if kind == "status" else {}
        if self.token:
            query["token"] = self.token
        return f"{self.hub_url}/worktool/{robot_id}/{kind}" + (f"?{urlencode(query)}" if query else "")

    def behaviour_for(self, robot: RobotState, command: Mapping[str, Any]) -> ResultBehaviour:
        """The robot's behaviour unless an override matches; an override with `times` is used up."""
        content = command.get("receivedContent")
        haystack = content if isinstance(content, str) else json.dumps(command, ensure_ascii=False)
        for override in reversed(self.overrides):
            if override.match in haystack and override.robot in (None, robot.id):
                if override.times is not None:
                    remaining = override.times - 1
                    index = self.overrides.index(override)
                    if remaining:
                        self.overrides[index] = override.model_copy(update={"times": remaining})
                    else:
                        del self.overrides[index]
                return ResultBehaviour.model_validate(override.model_dump(include=set(ResultBehaviour.model_fields)))
        return robot.behaviour

    def stats(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for command in self.commands:
            outcomes[command.outcome] = outcomes.get(command.outcome, 0) + 1
        posted = [c for c in self.callbacks if c.status is not None and c.status < 300]
        return {
            "requests": len(self.requests),
            "rateLimited": self.rate_limited,
            "commands": len(self.commands),
            "outcomes": outcomes,
            "callbacksPosted": len(posted),
            "callbacksFailed": len(self.callbacks) - len(posted),
            "pendingTasks": len(self.tasks),
        }
