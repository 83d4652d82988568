"""Reminders and RSVPs, the conversation side (channel-neutral).

- "ingatkan saya" (or the offer after the lead form): asks the day of the month the worker pays,
  then keeps a `Reminder`; reminders go out BPU_REMINDER_DAYS_BEFORE days before and on the day.
- "sudah bayar": records the payment for the month it is about; that month's reminders stop.
- "stop pengingat": no more reminders (opting out of all messages stops them too).
- RSVP buttons of an announcement, `rsvp:<broadcast id>:yes|no`: the answer is counted.

The engine calls `handle_text(turn)` (True when it answered) and `handle_button(turn, payload)`
for payloads starting `rem:` or `rsvp:`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import select, update

from handlers import acts
from handlers.due_dates import contact_zone, next_fire, payment_period
from handlers.nlu.normalize import default_normalizer
from handlers.text import keyword
from handlers.turn import Turn
from storage.campaign_models import (
    PAID,
    QUEUED,
    SKIPPED,
    Broadcast,
    OutboxRow,
    Reminder,
    ReminderPayment,
    RsvpAnswer,
)

ASK_STEP = "reminder:day"
OFFER_STEP = "reminder:offer"
_DAY = re.compile(r"^(?:tgl|tanggal|tanggal\s+ke|day|the)?\s*(\d{1,2})(?:\s*(?:st|nd|rd|th))?$")
# A request in one sentence ("ingatkan saya tanggal 10", "remind me on the 10th"), read on the
# lower-cased text: the normaliser reads "10th" as "10 tahun".
_REMIND = re.compile(r"\b(?:ingatkan|ingatin|ingetin|ingatkn|ingetin|diingatkan|remind|reminder|pengingat)\b")
_DAY_IN = re.compile(r"\b(?:tgl|tanggal|tiap|setiap|day|the|on)\s+(?:ke\s*)?(\d{1,2})(?:\s*(?:st|nd|rd|th))?\b")
_REQUEST_WORDS = 8
_STOPPING = re.compile(r"\b(?:stop|berhenti|matikan|hentikan|jangan|cancel|off|batal)\b")
# Without a day, these make it a question about reminders ("apakah ada pengingat"), not a request.
_ASKING = re.compile(r"\b(?:apakah|ada|bisa|kapan|how|can|does|is|what|when)\b")
# "udah bayar bulan ini min", "i already paid": said, not asked. Read on the normalised text.
_PAID = re.compile(
    r"^(?:(?:saya|admin|kak|pak|bu|bang|mas|mbak|min|halo|oke|ok)\s+)*"
    r"(?:sudah|telah|already|i|i ve|i have|have|just)\s+(?:(?:already|just|sudah)\s+)?"
    r"(?:bayar|membayar|dibayar|bayarin|paid|pay|tf|transfer|setor)\b"
)
_ASKED = re.compile(r"\b(?:kenapa|mengapa|kok|tapi|belum|apa|apakah|bagaimana|kapan|berapa|gimana|dimana|kemana"
                    r"|why|but|how|not|what|when|where|haven|didn)\b")  # fmt: skip


def offer(turn: Turn) -> None:
    """After the lead form: would the worker like monthly reminders?"""
    turn.state.step = OFFER_STEP
    turn.say("reminder_offer", buttons=[turn.button("reminder_yes", "rem:ask"), turn.button("reminder_no", "rem:no")])


async def handle_text(turn: Turn) -> bool:
    step = turn.state.step or ""
    if step.startswith("form:"):
        return False
    word = keyword(turn.text)
    said = acts.control(turn.text)
    if step == OFFER_STEP:
        turn.state.step = None
        answer = acts.act(turn.text)
        if answer == "agree":
            ask_day(turn)
            return True
        if answer in ("decline", "cancel"):
            turn.intent = "reminder_declined"
            turn.say("reminder_declined")
            return True
    if step == ASK_STEP:
        match = _DAY.match(word) or (_DAY_IN.search(word) if len(word.split()) <= _REQUEST_WORDS else None)
        if match:
            day = int(match.group(1))
            if 1 <= day <= 31:
                await _save(turn, day)
            else:
                turn.intent = "reminder_day"
                turn.say("reminder_day_invalid")
            return True
        if acts.act(turn.text) in ("cancel", "decline"):
            turn.state.step = None
            turn.intent = "reminder_cancel"
            turn.say("reminder_declined")
            return True
        turn.state.step = None  # anything else: the question is dropped, the engine answers it
        if said not in ("remind", "paid", "stop_reminder"):
            return False
    if said == "remind":
        ask_day(turn)
        return True
    if said == "paid" or _says_paid(turn.text):
        await paid(turn)
        return True
    if said == "stop_reminder":
        await stop(turn)
        return True
    if _REMIND.search(word) and not _STOPPING.search(word) and len(word.split()) <= _REQUEST_WORDS:
        named = _DAY_IN.search(word)
        if named and 1 <= int(named.group(1)) <= 31:
            await _save(turn, int(named.group(1)))  # "bisa ingatkan saya tgl 10?" asks politely: done
            return True
        if "?" not in turn.text and not _ASKING.search(word):
            ask_day(turn)  # "ingatkan saya bayar iuran": the day is all that is missing
            return True
    return False


async def handle_button(turn: Turn, payload: str) -> None:
    kind, _, rest = payload.partition(":")
    if turn.state.step == OFFER_STEP:
        turn.state.step = None
    if kind == "rsvp":
        await _rsvp(turn, rest)
    elif rest == "ask":
        ask_day(turn)
    elif rest == "no":
        turn.intent = "reminder_declined"
        turn.say("reminder_declined")
    elif rest == "paid":
        await paid(turn)
    elif rest == "stop":
        await stop(turn)
    else:
        turn.say("stale_button")


def _says_paid(text: str) -> bool:
    norm = default_normalizer()(text)
    return (
        bool(_PAID.search(norm)) and len(norm.split()) <= _REQUEST_WORDS and "?" not in text and not _ASKED.search(norm)
    )


def ask_day(turn: Turn) -> None:
    turn.intent = "reminder_ask"
    turn.state.step = ASK_STEP
    turn.say("reminder_ask_day")


async def _reminder(turn: Turn) -> Reminder | None:
    r: Reminder | None = await turn.session.scalar(select(Reminder).where(Reminder.contact_id == turn.contact.id))
    return r


async def _save(turn: Turn, day: int) -> None:
    s = turn.services
    turn.state.step = None
    turn.intent = "reminder_set"
    zone = _zone(turn)
    now = _aware(turn.now)
    nxt = next_fire(now, day, zone, s.reminder_days_before, s.reminder_hour)
    reminder = await _reminder(turn)
    if reminder is None:
        reminder = Reminder(contact_id=turn.contact.id, day_of_month=day)
        turn.session.add(reminder)
    reminder.day_of_month = day
    reminder.active = True
    reminder.next_fire_at, reminder.next_stage, reminder.next_due = nxt.at, nxt.stage, nxt.due.isoformat()
    await turn.session.flush()
    turn.say("reminder_set", day=day, days_before=s.reminder_days_before, due=nxt.due,
             opted_out=turn.contact.opted_out_at is not None)  # fmt: skip


async def paid(turn: Turn) -> None:
    turn.intent = "reminder_paid"
    reminder = await _reminder(turn)
    if reminder is None or not reminder.active:
        turn.say("reminder_paid_no_reminder", buttons=[turn.button("reminder_yes", "rem:ask")])
        return
    local = _aware(turn.now).astimezone(_zone(turn)).date()
    period = payment_period(local, reminder.day_of_month, turn.services.reminder_days_before)
    known = await turn.session.scalar(
        select(ReminderPayment.id).where(ReminderPayment.reminder_id == reminder.id, ReminderPayment.period == period)
    )
    if known is None:
        turn.session.add(ReminderPayment(reminder_id=reminder.id, contact_id=turn.contact.id, period=period))
    # Reminders of that month already queued do not go out.
    await turn.session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.reminder_id == reminder.id,
            OutboxRow.state == QUEUED,
            OutboxRow.source_key.startswith(f"r{reminder.id}:{period}:"),
        )
        .values(state=SKIPPED, reason=PAID, finished_at=turn.now)
        .execution_options(synchronize_session=False)
    )
    year, month = (int(p) for p in period.split("-"))
    shown = format_date(date(year, month, 1), format="MMMM y", locale="id_ID" if turn.lang == "id" else "en_ID")
    turn.say("reminder_paid", month=shown, again=known is not None)


async def stop(turn: Turn) -> None:
    turn.intent = "reminder_stop"
    reminder = await _reminder(turn)
    if reminder is not None:
        reminder.active = False
    turn.say("reminder_stopped", had=reminder is not None)


async def _rsvp(turn: Turn, rest: str) -> None:
    bid, _, answer = rest.partition(":")
    turn.intent = "rsvp"
    broadcast = await turn.session.get(Broadcast, int(bid)) if bid.isdigit() else None
    if broadcast is None or not broadcast.rsvp or answer not in ("yes", "no"):
        turn.say("stale_button")
        return
    row = await turn.session.scalar(
        select(RsvpAnswer).where(RsvpAnswer.broadcast_id == broadcast.id, RsvpAnswer.contact_id == turn.contact.id)
    )
    if row is None:
        turn.session.add(
            RsvpAnswer(broadcast_id=broadcast.id, contact_id=turn.contact.id, answer=answer, answered_at=turn.now)
        )
    else:
        row.answer, row.answered_at = answer, turn.now
    turn.say("rsvp_thanks", answer=answer, changed=row is not None)


def _zone(turn: Turn) -> ZoneInfo:
    return contact_zone(turn.contact.timezone, turn.contact.region_code, turn.services.timezone)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
