"""The per-message pipeline: an ordered list of steps, each filling part of the message's verdict.

Steps get the message, a context and the update they add to; they never commit. The job runs them over a
chunk of a conversation's messages in one transaction, then stores every message's update and marks the
chunk processed with a few statements (handlers/batch.py), so a step's effect and "processed" land
together or not at all.

What a step reads about the conversation (its name and kind, the takeover pause, the recent messages, the
open alerts, whether a task is open) is in `ctx.state`, loaded once per chunk and kept current by the
steps themselves: no step queries for it per message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.alerts.service import AlertService
from bot.commands.service import Commands
from bot.effects import Effects
from bot.llm import LlmClassifier
from bot.rules.people import Directory, SenderRole
from bot.settings import Settings
from bot.tasks.service import TaskService
from bot.understanding.engine import Classification, MessageInput
from bot.understanding.intervention import Intervention
from bot.understanding.ruleset import RuleSet
from bot.understanding.store import RuleStore
from handlers.sender import resolve_sender_role
from handlers.state import ConversationState
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
class Understood:
    """A message classified before the transaction (rules, or the LLM when they were unsure), with the
    input it was classified from (its conversation context as it was then)."""

    input: MessageInput
    classification: Classification


@dataclass(frozen=True)
class StepContext:
    directory: Directory
    now: datetime
    conn: BaseDBAsyncClient
    services: Services | None = None  # None: sender roles only (processing tests)
    rules: RuleSet | None = None  # the set in force for this message (one per batch)
    understood: dict[int, Understood] = field(default_factory=dict)  # classified before the transaction
    state: ConversationState = field(default_factory=ConversationState.empty)


@dataclass
class MessageUpdate:
    """What the steps decided about one message. `role` and the verdict columns are stored with
    state=processed; `classification` and `intervention` are the understanding step's verdicts for the
    steps after it; `effects` what to do once the transaction has committed (robots to wake, alert steps
    and deliveries, user-response checks)."""

    role: SenderRole | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # verdict columns (handlers/batch.py VERDICT_COLUMNS)
    classification: Classification | None = None
    intervention: Intervention | None = None
    effects: Effects = field(default_factory=Effects)

    @property
    def sender_role(self) -> str:
        return self.role or "user"


Step = Callable[[InboundMessage, StepContext, MessageUpdate], Awaitable[None]]


async def sender_role_step(message: InboundMessage, ctx: StepContext, update: MessageUpdate) -> None:
    update.role = resolve_sender_role(message.sender_name, ctx.directory)


DEFAULT_STEPS: tuple[Step, ...] = (sender_role_step,)  # the worker adds handlers.steps.UNDERSTANDING_STEPS


async def run_pipeline(
    message: InboundMessage, ctx: StepContext, steps: Sequence[Step] = DEFAULT_STEPS
) -> MessageUpdate:
    update = MessageUpdate()
    for step in steps:
        await step(message, ctx, update)
    ctx.state.remember(message, update.role or ctx.directory.role_of(message.sender_name), update.classification)
    return update
