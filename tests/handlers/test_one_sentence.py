"""Requests in one sentence (issue 13, item 3): a reminder with its day, "sudah bayar" booked to the
month due next (so its reminders stop), and "ajak teman" at any time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.delivery import reminders as delivery
from handlers import due_dates
from storage.campaign_models import OutboxRow, Reminder, ReminderPayment
from tests.factories import Chat

DEC_1 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 WIB


async def _reminder(db) -> Reminder | None:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        return await s.scalar(select(Reminder))


@pytest.mark.parametrize(
    ("lang", "text", "day"),
    [("id", "ingatkan saya tanggal 10", 10), ("id", "ingetin sy tgl 25 ya", 25),
     ("id", "tolong ingatkan tiap tanggal 5", 5), ("en", "remind me on the 10th", 10),
     ("en", "please remind me on day 20", 20), ("id", "bisa ingatkan saya tgl 10?", 10),
     ("en", "can you remind me on the 15th?", 15)],
)  # fmt: skip
async def test_a_reminder_with_its_day_is_set_at_once(engine, db, lang: str, text: str, day: int) -> None:
    chat = Chat(engine, language_hint=lang)
    await chat.say(text)
    reminder = await _reminder(db)
    assert reminder is not None and reminder.day_of_month == day and reminder.active
    assert str(day) in chat.text


@pytest.mark.parametrize(
    ("lang", "text", "asked"),
    [("id", "ingatkan saya bayar iuran", "Tanggal berapa"), ("id", "ingetin bayar ya", "Tanggal berapa"),
     ("en", "remind me to pay", "which day")],
)  # fmt: skip
async def test_a_reminder_without_a_day_asks_it_then_takes_it_in_words(engine, db, lang: str, text: str,
                                                                        asked: str) -> None:  # fmt: skip
    chat = Chat(engine, language_hint=lang)
    await chat.say(text)
    assert asked in chat.text
    assert await _reminder(db) is None
    await chat.say("tgl 10 ya" if lang == "id" else "the 10th")
    reminder = await _reminder(db)
    assert reminder is not None and reminder.day_of_month == 10


@pytest.mark.parametrize(
    "text", ["apakah ada pengingat bayar?", "stop pengingat", "jangan ingatkan saya tgl 10", "kapan pengingat dikirim"]
)
async def test_a_question_about_reminders_sets_nothing(engine, db, text: str) -> None:
    chat = Chat(engine)
    await chat.say(text)
    assert await _reminder(db) is None


@pytest.mark.parametrize(
    ("lang", "text", "month"),
    [("id", "sudah bayar", "Desember 2026"), ("id", "udah bayar bulan ini min", "Desember 2026"),
     ("id", "sdh byr kak", "Desember 2026"), ("en", "I already paid", "December 2026")],
)  # fmt: skip
async def test_an_early_sudah_bayar_is_booked_to_the_month_due_next_and_stops_its_reminders(
    engine, db, clock, lang: str, text: str, month: str
) -> None:
    chat = Chat(engine, language_hint=lang)
    clock.now = datetime(2026, 11, 20, 3, tzinfo=UTC)
    await chat.say("ingatkan saya tanggal 10")
    clock.now = DEC_1  # before the reminders of the 10th have started
    await chat.say(text)
    assert month in chat.text
    async with db.session() as s:
        assert (await s.scalars(select(ReminderPayment.period))).all() == ["2026-12"]
    # 7 December, 09:00 WIB: the "3 days before" reminder is not sent; nor on the 10th.
    for day in (7, 10):
        async with db.session() as s:
            await delivery.tick(s, datetime(2026, 12, day, 3, tzinfo=UTC), days_before=3, hour=9,
                                default_tz="Asia/Jakarta")  # fmt: skip
    async with db.session() as s:
        rows = (await s.scalars(select(OutboxRow))).all()
    assert all(row.state != "queued" for row in rows), [(r.source_key, r.state) for r in rows]


@pytest.mark.parametrize(
    ("today", "day", "period"),
    [(date(2026, 12, 1), 10, "2026-12"),  # early: the month due next
     (date(2026, 12, 7), 10, "2026-12"),  # after its first reminder
     (date(2026, 12, 12), 10, "2026-12"),  # a little late: still this month
     (date(2026, 12, 29), 1, "2027-01"),  # January's reminders have started
     (date(2026, 12, 1), 31, "2026-12")],
)  # fmt: skip
def test_the_month_a_sudah_bayar_is_for(today: date, day: int, period: str) -> None:
    assert due_dates.payment_period(today, day, 3) == period


@pytest.mark.parametrize("text", ["sudah bayar tapi kok belum aktif?", "kenapa sudah bayar belum masuk"])
async def test_a_question_about_a_payment_is_answered_not_booked(engine, db, text: str) -> None:
    chat = Chat(engine)
    await chat.say("ingatkan saya tanggal 10")
    await chat.say(text)
    async with db.session() as s:
        assert (await s.scalars(select(ReminderPayment))).all() == []


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [("id", "ajak teman", "setelah kamu meninggalkan data"), ("id", "gimana cara ngajak temen daftar", "Ajakan"),
     ("en", "invite a friend", "once you have left your sign-up details")],
)  # fmt: skip
async def test_ajak_teman_at_any_time_without_a_lead(engine, lang: str, text: str, expected: str) -> None:
    chat = Chat(engine, language_hint=lang)
    await chat.say("halo")
    await chat.say(text)
    assert expected in chat.text
    assert chat.buttons()[0].payload == "t:register"


async def test_ajak_teman_typed_after_a_lead_gives_the_invitation(db, cipher, matcher, clock) -> None:
    from handlers.engine import Engine
    from tests.forms import fill_to_summary

    engine = Engine(db, cipher, matcher, clock=clock, telegram_username="bpu_serang_bot")
    chat = Chat(engine)
    await fill_to_summary(chat)
    await chat.press("Kirim")
    await chat.say("halo")
    await chat.say("ajak temen dong")
    assert "https://t.me/bpu_serang_bot?start=ref-" in chat.text
