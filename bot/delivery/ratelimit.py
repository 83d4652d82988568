"""Pacing bulk sends: a token bucket for smoothness, capped by an exact sliding one-second window.

A token bucket alone lets `burst + rate` messages through in a one-second window; the cap keeps a
log of the last `rate` send times and holds a send until the oldest of them is more than a
window old, so no window of one second (plus a small margin for the time between taking a
token and the request reaching the platform) ever holds more than `rate` sends. A 429 pauses
every send of the lane for the time the platform asked (`pause`), as Telegram's FAQ wants.
With several worker processes each gets `rate / workers` (`set_rate`), see worker.py.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

# The time allowed between taking a token and the request reaching the platform: the sliding cap
# counts windows of 1 s + this margin, so requests that wait a little on the loop are still spread.
ARRIVAL_MARGIN = 0.04


class Pacer:
    def __init__(
        self,
        rate: float | None,
        *,
        window: float = 1.0,
        margin: float = ARRIVAL_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._window = window + margin
        self._lock = asyncio.Lock()
        self._paused_until = 0.0
        self.rate: float | None = None
        self.set_rate(rate)

    def set_rate(self, rate: float | None) -> None:
        """Change the rate (None or <= 0: unlimited); keeps the log, so the cap stays exact."""
        now = self._clock()
        if rate is None or rate <= 0:
            self.rate = None
            self._log: deque[float] = deque()
            return
        self.rate = rate
        self._capacity = max(1.0, rate / 10)  # at most a tenth of a second's worth at once
        self._tokens = min(getattr(self, "_tokens", 1.0), self._capacity)
        self._stamp = now
        cap = max(1, math.floor(rate))
        old: deque[float] = getattr(self, "_log", deque())
        self._log = deque(list(old)[-cap:], maxlen=cap)

    def pause(self, seconds: float) -> None:
        """The platform said 429: nothing goes out for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    async def acquire(self) -> None:
        """Wait until one more message may go out now."""
        async with self._lock:  # FIFO: waiters go out in the order they came
            while True:
                wait = self._wait(self._clock())
                if wait <= 0:
                    return
                await self._sleep(wait)

    async def ready(self) -> None:
        """Wait until a message could go out, without taking its token (acquire takes it)."""
        async with self._lock:
            while True:
                wait = self._wait(self._clock(), take=False)
                if wait <= 0:
                    return
                await self._sleep(wait)

    def _wait(self, now: float, *, take: bool = True) -> float:
        wait = self._paused_until - now
        if self.rate is None:
            return wait
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens < 1.0:
            wait = max(wait, (1.0 - self._tokens) / self.rate)
        log = self._log
        if log.maxlen is not None and len(log) >= log.maxlen:
            wait = max(wait, log[0] + self._window - now)
        if wait > 0 or not take:
            return wait
        self._tokens -= 1.0
        log.append(now)
        return 0.0


class ChatSpacing:
    """The least time between two bulk messages to one chat (Telegram: 1 s; WhatsApp: ~6 s)."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic, size: int = 100_000) -> None:
        self.interval = interval
        self._clock = clock
        self._size = size
        self._last: OrderedDict[str, float] = OrderedDict()

    def ready_in(self, chat: str) -> float:
        """Seconds until `chat` may get another message (0: now)."""
        if self.interval <= 0:
            return 0.0
        last = self._last.get(chat)
        return 0.0 if last is None else max(0.0, last + self.interval - self._clock())

    def forget(self, chat: str) -> None:
        """The platform refused the message (a 429): it did not reach the chat, so it does not count."""
        self._last.pop(chat, None)

    def sent(self, chat: str) -> None:
        if self.interval <= 0:
            return
        now = self._clock()
        self._last[chat] = now
        self._last.move_to_end(chat)
        # Forget chats whose interval is over (oldest first), and never hold more than `size`.
        while self._last:
            first, at = next(iter(self._last.items()))
            if at + self.interval < now or len(self._last) > self._size:
                self._last.popitem(last=False)
            else:
                break
