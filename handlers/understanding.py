"""Pipeline steps: what kind of message this is, whether staff must step in (or just did), and the
takeover pause. The verdicts are stored on the message in the batch's transaction.

Classification happens once per message, before the transaction (`understand_batch`): the rules, in
order, each message with the context of the messages before it (the batch's earlier ones included, with
their new types), and the LLM only for those the rules are unsure of. The step inside the transaction
then only judges (it needs the conversation's open items, which only the transaction can tell).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import structlog

from bot.llm import LlmClassifier
from bot.rules.people import Directory
from bot.understanding.engine import MessageInput
from bot.understanding.fallback import classify_with_fallback
from bot.understanding.intervention import judge
from bot.understanding.ruleset import RuleSet
from handlers.pipeline import MessageUpdate, StepContext, Understood
from handlers.state import ConversationState
from models.messages import InboundMessage

log = structlog.get_logger(__name__)


async def understand_batch(  # noqa: PLR0917 - one call site, every argument distinct
    messages: Sequence[InboundMessage],
    state: ConversationState,
    rules: RuleSet,
    directory: Directory,
    llm: LlmClassifier | None,
    threshold: float,
    renew: Callable[[], Awaitable[object]],
) -> dict[int, Understood]:
    """Classify the batch in order (extending a copy of the recent context as it goes). The LLM, when
    enabled, is asked outside any transaction (a call can take seconds); `renew` keeps the conversation
    lock alive after each call."""
    scratch = ConversationState(recent=state.recent.copy())
    asked = llm is not None and llm.enabled
    out: dict[int, Understood] = {}
    for message in messages:
        role = directory.role_of(message.sender_name)
        if role == "robot":
            scratch.remember(message, role, None)
            continue
        msg = MessageInput(
            message.text, role, message.sender_name, message.received_at, scratch.context(message.received_at)
        )
        if asked:
            found = await classify_with_fallback(msg, rules, llm, threshold)
            if found.source == "llm":
                await renew()
        else:
            found = rules.engine.classify(msg)
        out[message.id] = Understood(msg, found)
        scratch.remember(message, role, found)
    return out


async def understand_step(message: InboundMessage, ctx: StepContext, update: MessageUpdate) -> None:
    rules = ctx.rules
    if rules is None:
        return
    role = update.role or ctx.directory.role_of(message.sender_name)
    if role == "robot":
        update.fields.update(
            type=None, type_source="robot", intervention_case="no_staff_needed", rules_version=rules.version
        )
        return
    understood = ctx.understood.get(message.id)
    if understood is None or understood.input.role != role:  # not classified beforehand (a retried message)
        msg = MessageInput(
            message.text, role, message.sender_name, message.received_at, ctx.state.context(message.received_at)
        )
        understood = Understood(msg, rules.engine.classify(msg))
    msg, classification = understood.input, understood.classification
    open_elsewhere = None
    alerts_on = ctx.services is not None and ctx.services.alerts is not None
    if alerts_on and role in rules.intervention.staff_took_over.roles:
        # An open alert of the conversation is an open item too: staff answering it is a takeover.
        open_elsewhere = ctx.state.newest_open_alert()
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
    """Staff answered an open item: the bot steps back in that conversation for `takeover_minutes`
    (written with the chunk; the reply step reads it from the state)."""
    verdict = update.intervention
    if verdict is None or not verdict.is_staff_intervention or ctx.rules is None:
        return
    minutes = ctx.rules.intervention.staff_took_over.takeover_minutes
    until = ctx.now + timedelta(minutes=minutes)
    ctx.state.pause(until, message.sender_name)
    log.info(
        "staff took over; bot paused",
        conversation_id=message.conversation_id,  # type: ignore[attr-defined]
        message_id=message.id,
        staff=message.sender_name,
        until=until,
    )
