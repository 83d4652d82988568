"""Seeding contacts and broadcasts in bulk; the sliding-window check on a fake server's send times."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from handlers import broadcasts
from storage.campaign_models import Broadcast, OutboxRow
from storage.db import Database
from storage.models import Contact

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 10:00 WIB: outside quiet hours everywhere


async def seed_contacts(db: Database, n: int, *, channel: str = "telegram", start: int = 100_000,
                        tz: str | None = "Asia/Jakarta", **extra: object) -> list[int]:  # fmt: skip
    rows = [
        {"channel": channel, "external_id": str(start + i), "language": "id", "timezone": tz, "created_at": T0, **extra}
        for i in range(n)
    ]
    async with db.session() as session:
        for i in range(0, n, 5000):
            await session.execute(insert(Contact), rows[i : i + 5000])
        ids = (await session.scalars(select(Contact.id).where(Contact.channel == channel).order_by(Contact.id))).all()
    return list(ids)[-n:]


async def make_broadcast(db: Database, now: datetime = T0, *, text: str = "Sosialisasi BPU besok di kelurahan.",
                         channels: Sequence[str] = ("telegram",), daily_limit: int = 0, **kw: object) -> int:  # fmt: skip
    async with db.session() as session:
        b = await broadcasts.create(session, created_by="test", segment={}, channels=list(channels), template=None,
                                    text=text, now=now, **kw)  # type: ignore[arg-type]  # fmt: skip
        await broadcasts.fan_out(session, b, now, daily_limit=daily_limit)
        return b.id


async def rows(db: Database, broadcast_id: int) -> list[OutboxRow]:
    async with db.session() as session:
        return list((await session.scalars(select(OutboxRow).where(OutboxRow.broadcast_id == broadcast_id))).all())


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most sends in any half-open window [t, t + window)."""
    times = sorted(times)
    best = j = 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def get_broadcast(db: Database, broadcast_id: int) -> Broadcast:
    async with db.session() as session:
        b = await session.get(Broadcast, broadcast_id)
        assert b is not None
        return b


async def run_worker(worker: Any, timeout: float = 20) -> None:
    """Start the delivery worker, let it send all it can, and stop it (also when that times out)."""
    await worker.start()
    try:
        await worker.run_until_idle(timeout=timeout)
    finally:
        await worker.stop()


def moving_clock() -> Any:
    """T0, then running on: retries and pauses come due (a fixed clock would hold them forever)."""
    start = time.monotonic()
    return lambda: T0 + timedelta(seconds=time.monotonic() - start)
