"""Writing a processed chunk with a few statements, whatever its size.

- one conditional UPDATE marks the chunk's messages processed (`state = 'pending'` in its WHERE): fewer
  rows changed than messages means another processor got there first, and the chunk rolls back;
- one prepared UPDATE per shape of verdict (usually two: a classified message, our own robot's) stores
  every message's verdict columns (`executemany`, the statement built once, not per message by the ORM);
- one UPDATE moves the conversation's processed_upto mark (with the takeover pause, if a step set it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from handlers.pipeline import MessageUpdate
from handlers.state import ConversationState
from models.conversations import Conversation
from models.messages import InboundMessage, ProcessingState

VERDICT_COLUMNS: Final = frozenset(
    {
        "sender_role",
        "type",
        "type_confidence",
        "type_reason",
        "type_source",
        "is_staff_intervention",
        "intervention_case",
        "intervention_reason",
        "intervention_priority",
        "rules_version",
    }
)
MAX_ROWS: Final = 1000  # rows per executemany (a chunk is far smaller)


class TakenElsewhere(Exception):
    """Another processor already handled a message of this chunk."""


def _placeholders(conn: BaseDBAsyncClient, count: int) -> list[str]:
    if conn.capabilities.dialect == "sqlite":
        return ["?"] * count
    return [f"${n}" for n in range(1, count + 1)]


async def store_chunk(
    conn: BaseDBAsyncClient,
    conversation_id: int,
    done: Sequence[tuple[InboundMessage, MessageUpdate]],
    state: ConversationState,
    now: datetime,
) -> None:
    ids = [message.id for message, _ in done]
    claimed = await (
        InboundMessage.filter(id__in=ids, state=ProcessingState.PENDING)
        .using_db(conn)
        .update(state=ProcessingState.PROCESSED, processed_at=now, attempts=F("attempts") + 1, error=None)
    )
    if claimed != len(ids):
        raise TakenElsewhere(ids)
    await store_verdicts(conn, done)
    last = done[-1][0]
    mark: dict[str, Any] = {"last_message_at": last.received_at, "processed_upto": last.id}
    if state.paused and state.conversation is not None:
        mark |= {"bot_paused_until": state.conversation.bot_paused_until, "paused_by": state.conversation.paused_by}
    await Conversation.filter(id=conversation_id).using_db(conn).update(**mark)


async def store_verdicts(conn: BaseDBAsyncClient, done: Sequence[tuple[InboundMessage, MessageUpdate]]) -> None:
    shapes: dict[tuple[str, ...], list[list[Any]]] = defaultdict(list)
    for message, update in done:
        values = {"sender_role": update.role, **update.fields}
        unknown = set(values) - VERDICT_COLUMNS
        if unknown:
            raise ValueError(f"not verdict columns: {sorted(unknown)}")
        columns = tuple(sorted(values))
        shapes[columns].append([values[c] for c in columns] + [message.id])
    for columns, rows in shapes.items():
        p = _placeholders(conn, len(columns) + 1)
        assignments = ", ".join(f'"{c}"={p[n]}' for n, c in enumerate(columns))
        sql = f'UPDATE "inbound_messages" SET {assignments} WHERE "id"={p[-1]}'  # noqa: S608 - fixed names
        for first in range(0, len(rows), MAX_ROWS):
            await conn.execute_many(sql, rows[first : first + MAX_ROWS])
