"""Issue 16 item 5: `broadcast create --at` is typed in BPU_TIMEZONE, kept as that instant in UTC
on both databases, shown again in the zone with its abbreviation, and sent at that instant.

Through the installed `bpu-bot` command in a child process, as a user runs it; the scheduler's
broadcast tick is then driven by a clock moved either side of the moment.
"""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.delivery.scheduler import CampaignScheduler
from storage.db import Database
from tests.conftest import RunningClock
from tests.delivery.helpers import get_broadcast, rows, seed_contacts
from tests.processes import run


def bpu_bot(db_url: str, cwd: Path, *args: str, zone: str = "Asia/Jakarta") -> subprocess.CompletedProcess[str]:
    out = run(list(args), cwd, BPU_DATABASE_URL=db_url, BPU_TIMEZONE=zone)
    assert out.returncode == 0, out.stderr
    return out


@pytest.mark.parametrize(
    ("zone", "typed", "shown", "instant"),
    [
        ("Asia/Jakarta", "2026-12-01 23:30", "2026-12-01 23:30 WIB", datetime(2026, 12, 1, 16, 30, tzinfo=UTC)),
        ("Asia/Makassar", "2026-12-02 06:15", "2026-12-02 06:15 WITA", datetime(2026, 12, 1, 22, 15, tzinfo=UTC)),
    ],
)
async def test_at_is_kept_shown_and_sent_in_the_branch_zone(
    db_url: str, tmp_path: Path, zone: str, typed: str, shown: str, instant: datetime
) -> None:
    db = Database(db_url)
    try:
        await seed_contacts(db, 3)
        created = await asyncio.to_thread(
            bpu_bot, db_url, tmp_path, "broadcast", "create", "--text", "Sosialisasi BPU di kelurahan.",
            "--channel", "telegram", "--at", typed, "--yes", zone=zone,
        )  # fmt: skip
        assert f"scheduled for {shown}" in created.stdout

        b = await get_broadcast(db, 1)
        assert b.scheduled_at == instant and b.scheduled_at.utcoffset() == timedelta(0)
        async with db.session() as session:  # the stored value itself, not the ORM's reading of it
            raw = await session.scalar(text("SELECT scheduled_at FROM broadcasts"))
        if db.url.startswith("sqlite"):
            assert str(raw).startswith(f"{instant:%Y-%m-%d %H:%M}:00"), raw
        else:
            assert raw == instant

        listed = await asyncio.to_thread(bpu_bot, db_url, tmp_path, "broadcast", "list", zone=zone)
        assert shown in listed.stdout, listed.stdout
        status = await asyncio.to_thread(bpu_bot, db_url, tmp_path, "broadcast", "status", "1", zone=zone)
        assert f"scheduled {shown}" in status.stdout, status.stdout

        clock = RunningClock(instant - timedelta(minutes=1))
        scheduler = CampaignScheduler(db, clock=clock, default_tz=zone)
        scheduler.leader = True  # one process, no APScheduler: the tick itself
        assert await scheduler.tick_broadcasts() == 0
        assert (await get_broadcast(db, 1)).status == "scheduled" and await rows(db, 1) == []
        clock.now = instant
        assert await scheduler.tick_broadcasts() == 3
        assert (await get_broadcast(db, 1)).status == "sending"
    finally:
        await db.dispose()


def test_at_that_is_not_a_time_is_refused(tmp_path: Path) -> None:
    out = run(["broadcast", "create", "--text", "x", "--at", "1 Desember 23:30", "--yes"], tmp_path)
    assert out.returncode == 2 and "--at must look like" in out.stderr
