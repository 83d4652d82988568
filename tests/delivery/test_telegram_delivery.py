"""A broadcast through the delivery worker against the loopback Bot API server."""

from __future__ import annotations

import collections
from datetime import UTC, datetime

from bot.delivery.ratelimit import ARRIVAL_MARGIN
from handlers import broadcasts
from storage.campaign_models import OPTED_OUT, QUIET_HOURS, SENT, SKIPPED, UNREACHABLE
from storage.models import Contact
from tests.delivery.conftest import make_worker
from tests.delivery.helpers import T0, make_broadcast, max_in_window, rows, run_worker, seed_contacts

RATE = 200


async def test_thousand_recipients_never_above_the_rate(db, process_tg) -> None:
    await seed_contacts(db, 1000)
    bid = await make_broadcast(db)
    fake_tg = process_tg
    worker = make_worker(db, fake_tg, rate=RATE)
    await run_worker(worker, timeout=30)
    sends = fake_tg.calls_of("sendMessage")
    per_chat = collections.Counter(c.params["chat_id"] for c in sends)
    assert len(per_chat) == 1000 and set(per_chat.values()) == {1}
    times = [c.at for c in sends]
    # The fake runs in a process of its own: on a thread of this one, under the GIL, its arrival
    # stamps waited for the worker and the database driver (asyncpg above all) by up to ~100 ms,
    # and windows of 203-208 sends measured the fake, not the pacer. Its own process stamps a
    # request when it arrives. The pacer keeps its own margin (ARRIVAL_MARGIN) between taking a
    # token and the request arriving; the stamps get the same again, for loopback and scheduling.
    window = 1.0 - 2 * ARRIVAL_MARGIN
    most = max_in_window(times, window)
    assert most <= RATE, f"{most} sends in a {window:.2f} s window"
    # Over the whole run the rate is exact:
    elapsed = max(times) - min(times)
    assert elapsed >= (1000 - RATE) / RATE  # 1,000 sends at 200/s: the last can't come before 4 s
    states = collections.Counter(r.state for r in await rows(db, bid))
    assert states == {SENT: 1000}


async def test_skipped_with_their_reason(db, fake_tg) -> None:
    ok = await seed_contacts(db, 3, start=1)
    opted = await seed_contacts(db, 2, start=10, opted_out_at=T0)
    gone = await seed_contacts(db, 2, start=20, unreachable_at=T0)
    await seed_contacts(db, 2, start=30, tz="Asia/Jayapura")  # 12:00 WIB is 14:00 WIT...
    fake_tg.blocked.add(2)
    # 20:30 WIB = 22:30 WIT: quiet hours (21-7) for the WIT contacts only.
    now = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)
    bid = await make_broadcast(db, now, quiet_policy="skip")
    worker = make_worker(db, fake_tg, rate=None, quiet=(21, 7), clock=lambda: now)
    await run_worker(worker, timeout=20)
    by_external = {}
    async with db.session() as session:
        for r in await rows(db, bid):
            c = await session.get(Contact, r.contact_id)
            by_external[c.external_id] = (r.state, r.reason)
    assert by_external["1"] == (SENT, None) and by_external["3"] == (SENT, None)
    assert by_external["2"] == (SKIPPED, UNREACHABLE)  # 403: blocked the bot, not retried
    assert all(by_external[str(i)] == (SKIPPED, OPTED_OUT) for i in (10, 11))
    assert all(by_external[str(i)] == (SKIPPED, UNREACHABLE) for i in (20, 21))
    assert all(by_external[str(i)] == (SKIPPED, QUIET_HOURS) for i in (30, 31))
    assert len([c for c in fake_tg.calls_of("sendMessage") if c.params["chat_id"] == 2]) == 1
    async with db.session() as session:
        blocked = await session.get(Contact, ok[1])
        assert blocked.unreachable_at is not None
    assert len(opted) == len(gone) == 2


async def test_quiet_hours_defer_by_default(db, fake_tg) -> None:
    await seed_contacts(db, 2, start=30, tz="Asia/Jayapura")
    now = datetime(2026, 11, 25, 13, 30, tzinfo=UTC)  # 22:30 WIT
    bid = await make_broadcast(db, now)
    worker = make_worker(db, fake_tg, rate=None, quiet=(21, 7), clock=lambda: now)
    await run_worker(worker, timeout=10)
    assert fake_tg.calls_of("sendMessage") == []
    for r in await rows(db, bid):
        assert (r.state, r.reason) == ("queued", QUIET_HOURS)
        # 07:00 WIT the next morning = 22:00 UTC.
        assert r.not_before.replace(tzinfo=UTC) == datetime(2026, 11, 25, 22, 0, tzinfo=UTC)


async def test_a_429_storm_is_absorbed_without_loss(db, fake_tg) -> None:
    await seed_contacts(db, 60)
    bid = await make_broadcast(db)
    fake_tg.fail("sendMessage", 429, retry_after=1, times=25)
    fake_tg.fail("sendMessage", 500, times=3)
    worker = make_worker(db, fake_tg, rate=None)
    await run_worker(worker, timeout=30)
    delivered = collections.Counter(c.params["chat_id"] for c in fake_tg.calls_of("sendMessage") if c.status == 200)
    print(collections.Counter((r.state, r.reason, r.attempts) for r in await rows(db, bid)))
    assert len(delivered) == 60 and set(delivered.values()) == {1}
    assert {r.state for r in await rows(db, bid)} == {SENT}
    assert worker.stats["telegram"].rate_limited >= 1


async def test_preview_counts_and_cancel(db, fake_tg) -> None:
    from content.render import Renderer

    await seed_contacts(db, 3, start=1)
    await seed_contacts(db, 1, start=9, opted_out_at=T0)
    async with db.session() as session:
        p = await broadcasts.preview(session, Renderer(), segment={}, channels=["telegram"], template="broadcast_relief",
                                     text=None, rsvp=True, now=T0, daily_limit=250)  # fmt: skip
    assert (p.total, p.reachable, p.opted_out) == (4, 3, 1)
    assert "PP 50/2025" in p.texts["id"] and p.buttons == ["Hadir", "Tidak bisa"]
    bid = await make_broadcast(db)
    async with db.session() as session:
        assert await broadcasts.cancel(session, bid, T0) == 3
    worker = make_worker(db, fake_tg, rate=None)
    await run_worker(worker, timeout=10)
    assert fake_tg.calls_of("sendMessage") == []
