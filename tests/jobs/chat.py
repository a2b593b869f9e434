"""A message from someone in a group, as the robot reports it, processed by the full pipeline (for the
in-process flow tests)."""

from __future__ import annotations

from datetime import timedelta

from bot.callbacks.payloads import MessageCallback
from bot.ingest.incoming import normalise
from bot.ingest.writer import IngestWriter, backend_for
from jobs.processing import WorkerDeps, drain_conversation
from models.messages import InboundMessage


async def say(deps: WorkerDeps, text: str, sender: str, group: str = "客户群1") -> InboundMessage:
    writer = IngestWriter(backend=backend_for(deps.settings.database.url, timedelta(seconds=15)), max_batch=10)
    await writer.start()
    body = {"spoken": text, "receivedName": sender, "groupName": group, "roomType": 1, "atMe": False}
    stored = await writer.submit(normalise("wt-robot-1", MessageCallback.model_validate(body), deps.clock.now()))
    await writer.stop()
    message = await InboundMessage.get(id=stored.message_id)
    await drain_conversation(deps, message.conversation_id)  # type: ignore[attr-defined]
    await message.refresh_from_db()
    return message
