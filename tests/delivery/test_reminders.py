"""Reminders fire on the right local day across a month boundary, and stop after "sudah bayar"."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.delivery import reminders as rem
from handlers import due_dates
from handlers import reminders as conv
from handlers.messages import IncomingMessage, Kind
from handlers.turn import Turn
from storage import repositories as repo
from storage.campaign_models import OutboxRow, Reminder, ReminderPayment, RsvpAnswer
from storage.turns import TurnStore
from tests.delivery.helpers import make_broadcast

WIT = ZoneInfo("Asia/Jayapura")


def test_fire_dates_across_a_month_boundary() -> None:
    # Pays on the 2nd; 3 days before = 29 November (30-day month); 09:00 WIT = 00:00 UTC.
    after = datetime(2026, 11, 20, tzinfo=UTC)
    f = due_dates.next_fire(after, 2, WIT, 3, 9)
    assert (f.stage, f.due, f.at) == ("before", date(2026, 12, 2), datetime(2026, 11, 29, 0, 0, tzinfo=UTC))
    f2 = due_dates.next_fire(f.at, 2, WIT, 3, 9)
    assert (f2.stage, f2.due, f2.at.astimezone(WIT).date()) == ("due", date(2026, 12, 2), date(2026, 12, 2))
    # The 31st in February is its last day; 3 days before is 25 February.
    f3 = due_dates.next_fire(datetime(2027, 2, 1, tzinfo=UTC), 31, WIT, 3, 9)
    assert (f3.due, f3.at.astimezone(WIT).date()) == (date(2027, 2, 28), date(2027, 2, 25))
    assert due_dates.payment_period(date(2026, 11, 30), 2, 3) == "2026-12"
    assert due_dates.payment_period(date(2026, 12, 5), 2, 3) == "2026-12"
    # Paid early, before this month's reminders: this month, the one due next (issue 13).
    assert due_dates.payment_period(date(2026, 12, 1), 20, 3) == "2026-12"


async def _turn(db_session, engine, contact, text="", payload=None, now=None):  # type: ignore[no-untyped-def]
    state = await repo.get_state(db_session, contact)
    msg = IncomingMessage(channel=contact.channel, user_id=contact.external_id, text=text, payload=payload,
                          kind=Kind.BUTTON if payload else Kind.TEXT)  # fmt: skip
    return Turn(msg=msg, text=text, contact=contact, state=state, store=TurnStore.around(db_session), services=engine.services,
                now=now, today=now.date())  # fmt: skip


async def _say(db, engine, text, now, payload=None):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        contact, _ = await repo.get_or_create_contact(session, "telegram", "777")
        contact.timezone = "Asia/Jayapura"
        turn = await _turn(session, engine, contact, text, payload, now)
        if payload:
            await conv.handle_button(turn, payload)
            handled = True
        else:
            handled = await conv.handle_text(turn)
        return handled, turn.replies


async def _tick(db, now):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return await rem.tick(session, now, days_before=3, hour=9, default_tz="Asia/Jakarta")


async def _rows(db):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def test_ask_remind_then_paid_stops_the_month(db, engine) -> None:
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    handled, replies = await _say(db, engine, "ingatkan saya", now)
    assert handled and "Tanggal berapa" in replies[0].text
    handled, replies = await _say(db, engine, "2", now)
    assert handled and "2 Desember 2026" in replies[0].text
    async with db.session() as session:
        r = await session.scalar(select(Reminder))
        assert (r.day_of_month, r.next_stage, r.next_due) == (2, "before", "2026-12-02")

    # 28 November 23:00 UTC is 29 November 08:00 WIT: not yet (09:00 local).
    assert await _tick(db, datetime(2026, 11, 28, 23, 0, tzinfo=UTC)) == 0
    # 29 November 00:30 UTC = 09:30 WIT: the "3 days before" reminder, on the right local day.
    assert await _tick(db, datetime(2026, 11, 29, 0, 30, tzinfo=UTC)) == 1
    assert await _tick(db, datetime(2026, 11, 29, 0, 31, tzinfo=UTC)) == 0  # a second tick queues nothing
    (row,) = await _rows(db)
    assert (row.source_key.endswith(":2026-12:before"), row.payload) == (True, {"stage": "before", "due": "2026-12-02"})

    # The worker says "sudah bayar" on 30 November: December's reminders stop.
    handled, replies = await _say(db, engine, "sudah bayar", datetime(2026, 11, 30, 3, 0, tzinfo=UTC))
    assert handled and "Desember 2026" in replies[0].text
    assert await _tick(db, datetime(2026, 12, 2, 1, 0, tzinfo=UTC)) == 0  # the due-day reminder: paid
    async with db.session() as session:
        assert (await session.scalar(select(ReminderPayment.period))) == "2026-12"
    # January is a new month: its "before" reminder comes on 30 December, local day.
    assert await _tick(db, datetime(2026, 12, 29, 23, 59, tzinfo=UTC)) == 0
    assert await _tick(db, datetime(2026, 12, 30, 0, 1, tzinfo=UTC)) == 1
    keys = [r.source_key.split(":", 1)[1] for r in await _rows(db)]
    assert keys == ["2026-12:before", "2027-01:before"]

    # Opting out stops all: the next one is recorded as skipped, not sent.
    async with db.session() as session:
        contact = await repo.get_contact(session, "telegram", "777")
        contact.opted_out_at = datetime(2027, 1, 1, tzinfo=UTC)
    assert await _tick(db, datetime(2027, 1, 2, 1, 0, tzinfo=UTC)) == 1
    last = (await _rows(db))[-1]
    assert (last.state, last.reason) == ("skipped", "opted_out")


async def test_reminder_text_has_the_calculator_amount(engine) -> None:
    from storage.models import Lead

    lead = Lead(declared_income=2_000_000, programmes=2, is_transport=True)
    text, buttons, variables = rem.render(engine.services.renderer, "id", {"stage": "before", "due": "2026-12-02"},
                                          lead, date(2026, 11, 29))  # fmt: skip
    from handlers.calculator import quote

    q = quote(2_000_000, 2, date(2026, 11, 29), True)
    expected = q.relief.total if q.relief else q.normal.total
    from content.formatting import rupiah

    assert rupiah(expected) in text and variables[0] == rupiah(expected)
    assert [b.payload for b in buttons] == ["rem:paid", "rem:stop"]


async def test_rsvp_answers_are_counted(db, engine) -> None:
    from handlers import broadcasts

    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    bid = await make_broadcast(db, now, rsvp=True)
    await _say(db, engine, "", now, payload=f"rsvp:{bid}:no")
    _, replies = await _say(db, engine, "", now, payload=f"rsvp:{bid}:yes")
    assert "kehadiranmu" in replies[0].text
    async with db.session() as session:
        st = await broadcasts.status(session, bid)
        assert st.rsvp == {"yes": 1}
        assert (await session.scalar(select(RsvpAnswer.answer))) == "yes"
    _, replies = await _say(db, engine, "", now, payload="rsvp:999:yes")
    assert replies  # a stale button gets a kind answer
