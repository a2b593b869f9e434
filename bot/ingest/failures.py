"""Telling a batch that failed because of one of its rows from one that failed because of the database.

A data error is the row's fault: the same batch would fail again, so the writer splits it to find the
culprit instead of retrying (bot/ingest/writer.py). Anything else — write contention, a lost connection,
an outage, or something unknown — is retried as a whole and, past the budget, answered 503: a row is
blamed only on positive evidence, so an outage can never be mistaken for bad input (which would answer
innocent callbacks 4xx).
"""

from __future__ import annotations

import sqlite3
from typing import Final

import asyncpg  # type: ignore[import-untyped]

# SQLite: binding a value it cannot hold (an integer beyond 64 bits, a lone surrogate, an odd type);
# asyncpg: encoding an argument client-side (an integer beyond int32 for an INT column). A constraint
# violation is not among them: under the write lock it means the mirror of recent messages went stale,
# which a retry of the whole batch after the reset mends.
_DATA_ERRORS: Final = (
    OverflowError,
    UnicodeError,
    sqlite3.DataError,
    sqlite3.InterfaceError,
    asyncpg.exceptions._base.DataError,  # asyncpg exports its client-side DataError under this name only
)
# PostgreSQL's SQLSTATE class 22, data exception: a NUL, a bad Unicode escape, a number out of range.
_PG_DATA_EXCEPTION: Final = "22"


def is_data_error(exc: BaseException) -> bool:
    """The failure is caused by a value in the batch. Looks down the cause chain: tortoise wraps the
    driver's exception."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, _DATA_ERRORS):
            return True
        sqlstate = getattr(seen, "sqlstate", None) if isinstance(seen, asyncpg.PostgresError) else None
        if isinstance(sqlstate, str) and sqlstate.startswith(_PG_DATA_EXCEPTION):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
