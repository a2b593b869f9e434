"""The per-message pipeline: an ordered list of steps, each filling part of the message's verdict.

Steps get the message, a read-only context and the update they add to; they never commit. The job that
runs them stores the update and marks the message processed in the same transaction, so a step's effect
and "processed" land together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.alerts.service import AlertService, Wakeups
from bot.commands.service import Commands
from bot.llm import LlmClassifier
from bot.rules.people import Directory
from bot.settings import Settings
from bot.tasks.service import TaskService
from bot.understanding.engine import Classification
from bot.understanding.intervention import Intervention
from bot.understanding.ruleset import RuleSet
from bot.understanding.store import RuleStore
from handlers.sender import resolve_sender_role
from models.messages import InboundMessage


@dataclass(frozen=True)
class Services:
    """What the understanding and reply steps use; built once per worker (same builders as the web app)."""

    settings: Settings
    rules: RuleStore
    commands: Commands | None = None
    llm: LlmClassifier | None = None
    alerts: AlertService | None = None
    tasks: TaskService | None = None


@dataclass(frozen=True)
class StepContext:
    directory: Directory
    now: datetime
    conn: BaseDBAsyncClient
    services: Services | None = None  # None: sender roles only (processing tests)
    rules: RuleSet | None = None  # the set in force for this message (one per batch)
    hints: dict[int, Classification] = field(default_factory=dict)  # LLM verdicts asked before the transaction


@dataclass
class MessageUpdate:
    """Columns the steps set on the message; stored with state=processed. `classification` and
    `intervention` are the understanding step's verdicts for the steps after it; `wake` lists robots whose
    dispatcher to wake once the transaction has committed, `alerts` the alert steps and deliveries and
    `task_checks` the user-response checks to schedule then."""

    fields: dict[str, Any] = field(default_factory=dict)
    classification: Classification | None = None
    intervention: Intervention | None = None
    wake: set[str] = field(default_factory=set)
    alerts: Wakeups = field(default_factory=Wakeups)
    task_checks: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # response checks to schedule


Step = Callable[[InboundMessage, StepContext, MessageUpdate], Awaitable[None]]


async def sender_role_step(message: InboundMessage, ctx: StepContext, update: MessageUpdate) -> None:
    update.fields["sender_role"] = resolve_sender_role(message.sender_name, ctx.directory)


DEFAULT_STEPS: tuple[Step, ...] = (sender_role_step,)  # the worker adds handlers.steps.UNDERSTANDING_STEPS


async def run_pipeline(
    message: InboundMessage, ctx: StepContext, steps: Sequence[Step] = DEFAULT_STEPS
) -> MessageUpdate:
    update = MessageUpdate()
    for step in steps:
        await step(message, ctx, update)
    return update
