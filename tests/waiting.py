"""Waiting for another task or process: poll a check within a deadline (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(what: str, check: Callable[[], Awaitable[T | None]], timeout_s: float = 20, every_s: float = 0.1) -> T:
    """`check()`'s first truthy value; TimeoutError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(every_s)
    raise TimeoutError(f"timed out waiting for {what}")
