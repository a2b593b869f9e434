"""Which failures mean "a backing service cannot take this work now" rather than "the server is broken".

One classification for the API and the worker: an API request answers 503 with Retry-After (never 500),
write contention first retried inside the request; a worker job is retried later by arq and a sweeper
waits for its next run. The rest (a bug, a constraint the input should have been checked against) stay a
logged 500 or a failed job.
"""

from __future__ import annotations

import sqlite3
from typing import Final, Literal

import asyncpg  # type: ignore[import-untyped]
import redis.exceptions
from tortoise.exceptions import DBConnectionError, OperationalError

from bot.db import is_write_contention

Unavailability = Literal["contention", "down"]

# PostgreSQL: another transaction won; running the request again is the documented remedy.
_PG_CONTENTION: Final = (
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.LockNotAvailableError,
)
_DOWN: Final = (
    DBConnectionError,
    ConnectionError,  # refused / reset: the database or Redis is not there
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now, query cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# SQLite (and some PostgreSQL states) report these with only a message to tell them apart.
_BY_MESSAGE: Final = (OperationalError, sqlite3.OperationalError, asyncpg.PostgresError)
_DOWN_TEXTS: Final = (
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
    "not currently accepting connections",  # PostgreSQL: ALTER DATABASE … ALLOW_CONNECTIONS false
)


def unavailability(exc: BaseException) -> Unavailability | None:
    """ "contention" (retry soon), "down" (answer 503), or None: a real fault. Looks down the cause chain,
    since tortoise wraps the driver's exception."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, _PG_CONTENTION):
            return "contention"
        if isinstance(seen, _BY_MESSAGE):
            text = str(seen).lower()
            if is_write_contention(seen) or "database table is locked" in text:
                return "contention"
            if any(problem in text for problem in _DOWN_TEXTS):
                return "down"
        if isinstance(seen, _DOWN):
            return "down"
        seen = seen.__cause__ or seen.__context__
    return None
