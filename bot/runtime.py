"""Every service of the hub, wired in one place: the web app, the worker, the benchmarks and the tests
all get theirs from `build_runtime`.

    async with build_runtime(settings, clock) as rt:
        rt.commands.send_text(...); await effects.apply(...)

The database is opened by the caller (the web app at once, the worker when it answers): everything here
is used inside it. Nothing is optional: a disabled LLM is a classifier that says it is disabled, alert
channels without credentials refuse their sends, and the command-outcome listeners (alert notifications
sent through a robot, a report delivered by a robot) are registered in every process, though only the
worker runs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import structlog
from arq.connections import ArqRedis

from bot.alerts.channels import build_channels, readiness
from bot.alerts.delivery import Deliverer, send_limits
from bot.alerts.ratelimit import SendLimits
from bot.alerts.service import AlertService
from bot.clock import Clock
from bot.commands.dispatch import CommandDeps
from bot.commands.outcomes import Outcomes
from bot.commands.service import Commands
from bot.effects import Effects
from bot.llm import LlmClassifier
from bot.queue import arq_redis
from bot.reference import load_directory
from bot.reports.delivery import Reporter
from bot.rules.people import Directory
from bot.settings import Settings
from bot.tasks.service import TaskService
from bot.understanding.store import RuleStore
from bot.understanding.tokens import configure_jieba
from bot.worktool.client import build_worktool_client
from models.commands import Command, CommandStatus

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    clock: Clock
    session: aiohttp.ClientSession  # the process's one HTTP session (WorkTool, alert providers)
    redis: ArqRedis  # arq jobs, locks, limits
    rules: RuleStore  # the rule files, hot-reloaded
    directory: Directory  # people and robots (rules/people.yaml, config.yaml)
    outcomes: Outcomes  # command results, and who listens for them
    commands: Commands  # queueing outgoing messages
    dispatch: CommandDeps  # sending them through WorkTool (the worker's dispatcher)
    alerts: AlertService
    deliverer: Deliverer  # alert notifications to their channels
    tasks: TaskService  # after-sales tasks
    llm: LlmClassifier  # the LLM fallback (`llm.enabled` False: never asked)

    def reporter(self) -> Reporter:
        """The daily report's maker (built per use, so rule reloads apply)."""
        return Reporter(
            self.settings,
            self.clock,
            channels=self.deliverer.channels,
            commands=self.commands,
            alerts=self.alerts,
            overdue_hours=self.rules.current.assignment.assignment.overdue_hours,
        )

    async def apply(self, effects: Effects) -> None:
        """What a committed transaction left to do: wake robots, schedule alert and task jobs."""
        await effects.apply(commands=self.commands, alerts=self.alerts, tasks=self.tasks)


@asynccontextmanager
async def build_runtime(
    settings: Settings, clock: Clock, *, session: aiohttp.ClientSession | None = None, watch_rules: bool = True
) -> AsyncIterator[Runtime]:
    """The services over one Redis client and one HTTP session (`session`: the caller's), closed on exit.
    `watch_rules` False: the rule files are read once (tests)."""
    owned = session is None
    http = session if session is not None else aiohttp.ClientSession()
    redis = arq_redis(settings.redis.url)
    rules: RuleStore | None = None
    llm: LlmClassifier | None = None
    try:
        directory, _ = load_directory(settings)
        configure_jieba(Path(settings.data_dir))
        rules = RuleStore(Path(settings.rules_dir))
        store = rules
        if watch_rules:
            rules.start_watching()
        outcomes = Outcomes(redis)
        commands = Commands(settings, redis, clock)
        dispatch = CommandDeps(settings, redis, clock, build_worktool_client(settings, redis, http), outcomes)
        alerts = AlertService(settings, directory, lambda: store.current.alerts, redis, clock)
        channels = build_channels(settings.alerts, http, redis, clock=clock)
        deliverer = Deliverer(alerts, channels, SendLimits(redis, send_limits(settings.alerts), clock), commands)
        tasks = TaskService(
            settings, directory, lambda: store.current.assignment, redis, clock, commands=commands, alerts=alerts
        )
        llm = LlmClassifier(settings.llm, clock, redis=redis, timezone=settings.timezone)
        runtime = Runtime(
            settings, clock, http, redis, rules, directory, outcomes, commands, dispatch, alerts, deliverer, tasks, llm
        )
        outcomes.listen("alert", deliverer.on_command_outcome)

        async def report_outcome(command: Command, status: CommandStatus) -> None:
            await runtime.reporter().on_command_outcome(command, status)

        outcomes.listen("report", report_outcome)
        yield runtime
    finally:
        if rules is not None:
            await rules.stop()
        if llm is not None:
            await llm.close()
        await redis.aclose()
        if owned:
            await http.close()


def log_alert_channels(settings: Settings) -> None:
    ready = readiness(settings.alerts)
    log.info(
        "alert channels",
        ready=sorted(name for name, ok in ready.items() if ok),
        not_configured=sorted(name for name, ok in ready.items() if not ok),
    )
