"""Pipeline step: the alerts a message opens or closes, in the batch's transaction.

- needs_staff_now (a complaint, a private operation, a hard operator tone, a refusal) opens an alert per
  (kind, conversation, sender); the same again while it is open counts and moves it up a level at once.
- Staff stepping in (the intervention judgement) cancels the conversation's open alerts as
  `staff_intervened`; with 已处理/接手 written in the chat it is `manual`, and `已处理 #12` closes alert 12
  wherever it belongs (the managers' group, say).
- A user writing again cancels the `user_no_response` alert about them (`user_responded`).
"""

from __future__ import annotations

import structlog

from bot.alerts.service import CONVERSATION_KINDS, AlertSpec, alert_refs
from bot.understanding.engine import mentions
from bot.understanding.intervention import STAFF_ROLES
from handlers.pipeline import MessageUpdate, StepContext
from handlers.state import OpenAlert
from models.alerts import CancelReason
from models.messages import InboundMessage

log = structlog.get_logger(__name__)


async def alerts_step(message: InboundMessage, ctx: StepContext, update: MessageUpdate) -> None:
    services, rules = ctx.services, ctx.rules
    classification = update.classification
    verdict = update.intervention
    if services is None or services.alerts is None or rules is None or verdict is None or classification is None:
        return
    alerts, state = services.alerts, ctx.state
    conversation_id: int = message.conversation_id  # type: ignore[attr-defined]
    role = update.sender_role
    text = message.text
    if verdict.case == "needs_staff_now":
        kind = rules.alerts.open_for_types.get(classification.type, rules.alerts.refusal_kind)
        spec = AlertSpec(
            kind=kind,
            subject=message.sender_name,
            conversation_id=conversation_id,
            where=state.conversation.name if state.conversation is not None else "",
            detail=text,
            source_message_id=message.id,
        )
        opened = await alerts.open(spec, ctx.now, ctx.conn, update.effects.alerts)
        state.alert_opened(OpenAlert(opened.alert.id, opened.alert.kind, opened.alert.subject))
        return
    if role in STAFF_ROLES:
        handled = next((p for p in rules.intervention.handled_phrases if p in text), None)
        refs = alert_refs(text) if handled is not None else []
        for alert_id in refs:
            closed = await alerts.cancel(
                alert_id,
                CancelReason.MANUAL,
                actor=message.sender_name,
                note=f"chat: {handled}",
                conn=ctx.conn,
                claimed=handled == "接手",
            )
            state.alerts_closed([alert_id])
            log.info("alert closed from the chat", alert_id=alert_id, done=closed.done, by=message.sender_name)
        if refs or not verdict.is_staff_intervention:
            return
        reason = CancelReason.MANUAL if handled is not None else CancelReason.STAFF_INTERVENED
        open_subjects = {alert.subject for alert in state.open_about(CONVERSATION_KINDS)}
        if not open_subjects:
            return  # nothing open in the room (what cancel_matching would find)
        # Staff @-ing a user closes what is open about that user; otherwise everything open in the room.
        about: list[str | None] = [name for name in mentions(text) if name in open_subjects]
        for subject in about or [None]:
            closed_ids = await alerts.cancel_matching(
                reason,
                actor=message.sender_name,
                note=verdict.reason[:200],
                conn=ctx.conn,
                kinds=CONVERSATION_KINDS,
                conversation_id=conversation_id,
                subject=subject,
            )
            state.alerts_closed(closed_ids)
    elif role == "user" and state.open_about(("user_no_response",), message.sender_name):
        closed_ids = await alerts.cancel_matching(
            CancelReason.USER_RESPONDED,
            actor=message.sender_name,
            note=text[:200],
            conn=ctx.conn,
            kinds=("user_no_response",),
            conversation_id=conversation_id,
            subject=message.sender_name,
        )
        state.alerts_closed(closed_ids)
