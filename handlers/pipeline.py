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

from bot.rules.people import Directory
from handlers.sender import resolve_sender_role
from models.messages import InboundMessage


@dataclass(frozen=True)
class StepContext:
    directory: Directory
    now: datetime
    conn: BaseDBAsyncClient


@dataclass
class MessageUpdate:
    """Columns the steps set on the message; stored with state=processed."""

    fields: dict[str, Any] = field(default_factory=dict)


Step = Callable[[InboundMessage, StepContext, MessageUpdate], Awaitable[None]]


async def sender_role_step(message: InboundMessage, ctx: StepContext, update: MessageUpdate) -> None:
    update.fields["sender_role"] = resolve_sender_role(message.sender_name, ctx.directory)


DEFAULT_STEPS: tuple[Step, ...] = (sender_role_step,)


async def run_pipeline(
    message: InboundMessage, ctx: StepContext, steps: Sequence[Step] = DEFAULT_STEPS
) -> MessageUpdate:
    update = MessageUpdate()
    for step in steps:
        await step(message, ctx, update)
    return update
