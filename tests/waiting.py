"""Waiting in tests for something that happens elsewhere (a server, a worker, another process)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def eventually(check: Callable[[], Any], seconds: float = 20.0, what: Callable[[], str] | None = None,
                     every: float = 0.05) -> Any:  # fmt: skip
    """The first true value of `check()` (awaited when it is a coroutine), polled every `every`
    seconds; AssertionError after `seconds`, saying `what()` when given (what was seen instead)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"not in time{': ' + what() if what else ''}")
