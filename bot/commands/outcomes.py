"""Telling the caller how its command ended: listeners per purpose (alerts register theirs).

A listener runs after the status change is committed; it must be idempotent (a result can be
recorded by a job that runs twice) and must not raise: failures are logged, never propagated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable

import structlog

from models.commands import Command, CommandStatus

log = structlog.get_logger(__name__)
Listener = Callable[[Command, CommandStatus], Awaitable[None]]


class Outcomes:
    def __init__(self) -> None:
        self._listeners: defaultdict[str, list[Listener]] = defaultdict(list)

    def listen(self, purpose: str, listener: Listener) -> None:
        self._listeners[purpose].append(listener)

    async def notify(self, command: Command, status: CommandStatus) -> None:
        emit = log.info if status is CommandStatus.SUCCEEDED else log.warning
        emit(
            "command outcome",
            command_id=command.id,
            robot_id=command.robot_id,
            conversation_id=command.conversation_id,
            purpose=command.purpose,
            status=status.value,
            error_code=command.error_code,
            error=command.error_reason,
        )
        for listener in self._listeners.get(command.purpose, ()):
            try:
                await listener(command, status)
            except Exception:
                log.exception("command outcome listener failed", command_id=command.id, purpose=command.purpose)
