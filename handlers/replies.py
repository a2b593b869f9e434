"""Pipeline step: the bot's own answer (FAQ or holding reply), queued in the batch's transaction.

Never to our robots or staff, never while staff have taken the conversation over (checked here and
again by the dispatcher right before sending), in groups only when @-mentioned unless a rule says so.
One reply per message at most: its idempotency key is the message id.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import structlog

from bot.commands.pacing import OutgoingRefused
from bot.commands.selection import NoRobotAvailable
from bot.commands.service import OutgoingText
from bot.rules.people import Directory
from bot.understanding.replies import decide_reply
from handlers.holding import repeats_holding
from handlers.pipeline import MessageUpdate, StepContext
from models.messages import InboundMessage

log = structlog.get_logger(__name__)


def on_duty_staff(directory: Directory, ctx: StepContext, tz: ZoneInfo) -> str:
    local = ctx.now.astimezone(tz)
    people = {person.name: person for person in directory.people.values()}
    for name in sorted(people):
        person = people[name]
        if person.role == "staff" and person.shift.covers(local):
            return name
    return "工作人员"


async def reply_step(message: InboundMessage, ctx: StepContext, update: MessageUpdate) -> None:
    services, rules = ctx.services, ctx.rules
    classification = update.classification
    verdict = update.intervention
    if services is None or rules is None or services.commands is None or classification is None or verdict is None:
        return
    conversation_id: int = message.conversation_id  # type: ignore[attr-defined]
    conversation = ctx.state.conversation
    if conversation is None:
        return
    if ctx.state.bot_paused(ctx.now):
        log.info("no bot reply: staff took over", conversation_id=conversation_id, message_id=message.id)
        return
    private = conversation.kind == "private"
    tz = ZoneInfo(services.settings.timezone)
    variables = {
        "sender": message.sender_name,
        "staff": on_duty_staff(ctx.directory, ctx, tz),
        "group": conversation.name,
    }
    decision = decide_reply(
        message.text,
        update.sender_role,
        classification,
        verdict,
        at_me=message.at_me,
        private=private,
        rules=rules.replies,
        variables=variables,
    )
    if decision is None or await repeats_holding(message, ctx, decision):  # one holding reply per item
        return
    out = OutgoingText(
        conversation_id=conversation_id,
        text=decision.text,
        reply_key=f"reply:{message.id}",
        purpose="reply",
        requested_by=f"rule:{decision.rule}",
        at_list=() if private else (message.sender_name,),
    )
    try:
        queued = await services.commands.send_text(out, ctx.conn, view=await ctx.state.robot_view(ctx.now, ctx.conn))
    except (NoRobotAvailable, OutgoingRefused) as exc:
        log.warning("bot reply not sent", message_id=message.id, rule=decision.rule, reason=str(exc))
        return
    update.effects.robots.add(queued.robot_id)
    log.info("bot reply queued", message_id=message.id, rule=decision.rule, command_ids=queued.command_ids)
