"""Work that would stall the event loop runs on a few threads of its own.

One argon2 hash takes ~0.15 s of CPU on purpose, and writing an XLSX of many leads takes
seconds; on the loop either holds every chat reply, webhook and delivery of the process
(60 simultaneous logins held them for 9.5 s). argon2 and the file writers release the GIL
while they work, so threads suffice. The pool is small and shared: a flood of logins queues
here, using at most this many cores and this much argon2 memory (64 MiB a hash), while the
loop keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

WORKERS = max(1, min(4, (os.cpu_count() or 2) - 1))
NICENESS = 10


def _yield_to_the_loop() -> None:
    # When the cores are busy, a worker's reply matters more than a login finishing sooner:
    # on Linux a thread has its own scheduling priority, and these threads take the lower one.
    # Not Linux, or not allowed: equal priority, still off the loop.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)


_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bpu-offload", initializer=_yield_to_the_loop)


async def run_blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on the shared pool; the caller's task waits, the loop does not."""
    return await asyncio.get_running_loop().run_in_executor(_pool, partial(fn, *args, **kwargs))
