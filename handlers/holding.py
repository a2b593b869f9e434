"""Reply hygiene (issue 17): before a holding reply is queued, the replies the bot already queued in the
conversation within `replies.holding_window_s`, for the pure decision in bot/understanding/replies.py."""

from __future__ import annotations

from datetime import timedelta

import structlog

from bot.understanding.replies import EarlierReply, ReplyDecision, joins_earlier_holding
from handlers.pipeline import StepContext
from models.commands import Command
from models.messages import InboundMessage

log = structlog.get_logger(__name__)
RULE_PREFIX = "rule:"


async def repeats_holding(message: InboundMessage, ctx: StepContext, decision: ReplyDecision) -> bool:
    """True when `decision` would repeat a holding reply the user already got for the same kind of item."""
    services, rules = ctx.services, ctx.rules
    if services is None or rules is None or all(h.name != decision.rule for h in rules.replies.holding):
        return False
    window_s = services.settings.replies.holding_window_s
    rows = await (
        Command.filter(
            conversation_id=message.conversation_id,  # type: ignore[attr-defined]
            purpose="reply",
            requested_by=RULE_PREFIX + decision.rule,
            created_at__gte=ctx.now - timedelta(seconds=window_s),
        )
        .using_db(ctx.conn)
        .values_list("requested_by", "at_list", "created_at")
    )
    earlier = [EarlierReply(str(by).removeprefix(RULE_PREFIX), tuple(to or ()), at) for by, to, at in rows]
    joined = joins_earlier_holding(
        decision, message.sender_name, earlier, now=ctx.now, window_s=window_s, rules=rules.replies
    )
    if joined is not None:
        log.info("no second holding reply: joins the earlier one", message_id=message.id, rule=decision.rule)
    return joined is not None
