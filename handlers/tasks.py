"""Pipeline step: after-sales tasks, in the batch's transaction.

- needs_after_sales opens a task (or joins the open one of the same user, conversation and type) and
  assigns it; the bot @s the assignee.
- Staff writing in a conversation with an open task count as its follow-up; staff @-ing the task's user
  starts the wait for the user's answer. The user answering (or refusing) ends the wait.
"""

from __future__ import annotations

from bot.understanding.engine import mentions
from handlers.pipeline import MessageUpdate, StepContext
from handlers.state import open_tasks
from models.messages import InboundMessage


async def tasks_step(message: InboundMessage, ctx: StepContext, update: MessageUpdate) -> None:
    services, rules = ctx.services, ctx.rules
    classification = update.classification
    verdict = update.intervention
    if services is None or services.tasks is None or rules is None or verdict is None or classification is None:
        return
    tasks = services.tasks
    conversation_id: int = message.conversation_id  # type: ignore[attr-defined]
    role = update.sender_role
    effects = update.effects
    if verdict.case == "needs_after_sales":
        await tasks.open_task(
            conversation_id=conversation_id,
            user=message.sender_name,
            text=message.text,
            now=ctx.now,
            conn=ctx.conn,
            effects=effects,
            priority=verdict.priority,
            source_message_id=message.id,
        )
    else:
        mentioned = mentions(message.text)
        if not any(task.touched_by(message.sender_name, role, mentioned) for task in ctx.state.open_tasks):
            return  # no open task this message follows up or answers: nothing to change
        refused = verdict.case == "needs_staff_now" and classification.type in rules.intervention.refusal.types
        await tasks.on_message(
            conversation_id=conversation_id,
            sender=message.sender_name,
            role=role,
            mentioned=mentioned,
            refused=refused,
            now=ctx.now,
            conn=ctx.conn,
            effects=effects,
        )
    ctx.state.open_tasks = await open_tasks(conversation_id, ctx.conn)  # as the service left them
