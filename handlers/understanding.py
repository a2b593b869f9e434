"""Pipeline steps: what kind of message this is, whether staff must step in (or just did), and the
takeover pause. The verdicts are stored on the message in the batch's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

import structlog

from bot.understanding.engine import Classification, ContextMessage, MessageInput
from bot.understanding.fallback import classify_with_fallback
from bot.understanding.intervention import judge
from handlers.pipeline import MessageUpdate, StepContext
from models.conversations import Conversation
from models.messages import InboundMessage

log = structlog.get_logger(__name__)
CONTEXT_MESSAGES: Final = 12
CONTEXT_WINDOW: Final = timedelta(hours=2)


async def conversation_context(message: InboundMessage, ctx: StepContext) -> tuple[ContextMessage, ...]:
    """The conversation's messages just before this one (processed in order, so they carry their types)."""
    rows = (
        await InboundMessage.filter(
            conversation_id=message.conversation_id,  # type: ignore[attr-defined]
            id__lt=message.id,
            received_at__gte=message.received_at - CONTEXT_WINDOW,
        )
        .using_db(ctx.conn)
        .order_by("-id")
        .limit(CONTEXT_MESSAGES)
    )
    return tuple(
        ContextMessage(
            role=row.sender_role or ctx.directory.role_of(row.sender_name),
            text=row.text,
            sender=row.sender_name,
            at=row.received_at,
            type=row.type,
        )
        for row in reversed(rows)
    )


async def understand_step(message: InboundMessage, ctx: StepContext, update: MessageUpdate) -> None:
    rules = ctx.rules
    if rules is None:
        return
    role = str(update.fields.get("sender_role") or ctx.directory.role_of(message.sender_name))
    if role == "robot":
        update.fields.update(
            type=None, type_source="robot", intervention_case="no_staff_needed", rules_version=rules.version
        )
        return
    msg = MessageInput(
        message.text, role, message.sender_name, message.received_at, await conversation_context(message, ctx)
    )
    # The LLM is never asked here, inside the batch's transaction: the job asks it beforehand (llm_hints).
    classification = ctx.hints.get(message.id) or rules.engine.classify(msg)
    open_elsewhere = None
    alerts = ctx.services.alerts if ctx.services is not None else None
    if alerts is not None and role in rules.intervention.staff_took_over.roles:
        # An open alert of the conversation is an open item too: staff answering it is a takeover.
        open_elsewhere = await alerts.open_description(message.conversation_id, ctx.conn)  # type: ignore[attr-defined]
    verdict = judge(msg, classification, rules.intervention, rules.engine, open_elsewhere)
    update.classification = classification
    update.intervention = verdict
    update.fields.update(
        type=classification.type,
        type_confidence=classification.confidence,
        type_reason=classification.reason[:2000],
        type_source=classification.source,
        is_staff_intervention=verdict.is_staff_intervention,
        intervention_case=verdict.case,
        intervention_reason=verdict.reason or None,
        intervention_priority=verdict.priority,
        rules_version=rules.version,
    )


async def takeover_step(message: InboundMessage, ctx: StepContext, update: MessageUpdate) -> None:
    """Staff answered an open item: the bot steps back in that conversation for `takeover_minutes`."""
    verdict = update.intervention
    if verdict is None or not verdict.is_staff_intervention or ctx.rules is None:
        return
    minutes = ctx.rules.intervention.staff_took_over.takeover_minutes
    until = ctx.now + timedelta(minutes=minutes)
    conversation_id: int = message.conversation_id  # type: ignore[attr-defined]
    paused = Conversation.filter(id=conversation_id).using_db(ctx.conn)
    await paused.update(bot_paused_until=until, paused_by=message.sender_name)
    log.info(
        "staff took over; bot paused",
        conversation_id=conversation_id,
        message_id=message.id,
        staff=message.sender_name,
        until=until,
    )


async def llm_hints(
    messages: list[InboundMessage], ctx: StepContext, renew: Callable[[], Awaitable[object]]
) -> dict[int, Classification]:
    """Ask the LLM about the messages the rules are unsure of, before the batch's transaction (a call can
    take seconds; a transaction must not). `renew` keeps the conversation lock alive between calls."""
    services, rules = ctx.services, ctx.rules
    if services is None or rules is None or services.llm is None or not services.llm.enabled:
        return {}
    threshold = services.settings.llm.confidence_threshold
    hints: dict[int, Classification] = {}
    for message in messages:
        role = ctx.directory.role_of(message.sender_name)
        if role == "robot":
            continue
        context = await conversation_context(message, ctx)
        msg = MessageInput(message.text, role, message.sender_name, message.received_at, context)
        if rules.engine.classify(msg).confidence >= threshold:
            continue
        found = await classify_with_fallback(msg, rules, services.llm, threshold)
        if found.source == "llm":
            hints[message.id] = found
        await renew()
    return hints
