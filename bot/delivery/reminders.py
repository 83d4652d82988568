"""Monthly payment reminders, relative to the day of the month a worker pays.

Each reminder keeps its next fire (`next_fire_at`, a UTC instant: BPU_REMINDER_HOUR local time in
the worker's zone), the stage (`before`: BPU_REMINDER_DAYS_BEFORE days ahead; `due`: on the day)
and the due date it is for. One periodic job (`tick`) takes the reminders whose fire is due
(`FOR UPDATE SKIP LOCKED`), queues one outbox row per occurrence (unique source key
`r<id>:<YYYY-MM>:<stage>`, so a tick run twice queues nothing twice) and moves the reminder to
its next fire. No scheduler job per worker: the reminders are plain rows.

A payday on the 31st falls on the last day of shorter months. "sudah bayar" records the month
(`ReminderPayment`); a month with a payment gets no more reminders. A fire found too late (the
bot was down) is skipped rather than sent out of time: a "3 days before" after the due day,
or a "today" on a later day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from content import formatting
from content.render import Renderer
from handlers.calculator import BelowMinimum, due_date, quote
from handlers.due_dates import BEFORE, DUE, contact_zone, next_fire
from handlers.messages import Button
from storage.campaign_models import (
    KIND_REMINDER,
    OPTED_OUT,
    QUEUED,
    SKIPPED,
    OutboxRow,
    Reminder,
    ReminderPayment,
)
from storage.models import Contact, Lead


def zone_of(contact: Contact, default_tz: str) -> ZoneInfo:
    return contact_zone(contact.timezone, contact.region_code, default_tz)


async def tick(
    session: AsyncSession,
    now: datetime,
    *,
    days_before: int,
    hour: int,
    default_tz: str,
    limit: int = 500,
) -> int:
    """Queue every reminder occurrence that is due; returns the rows queued (or recorded skipped)."""
    due = (
        await session.execute(
            select(Reminder, Contact)
            .join(Contact, Contact.id == Reminder.contact_id)
            .where(Reminder.active.is_(True), Reminder.next_fire_at <= now)
            .order_by(Reminder.next_fire_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Reminder)
        )
    ).all()
    queued = 0
    for reminder, contact in due:
        zone = zone_of(contact, default_tz)
        while reminder.next_fire_at is not None and _aware(reminder.next_fire_at) <= now:
            fire_at = _aware(reminder.next_fire_at)
            stage = reminder.next_stage or DUE
            due_day = date.fromisoformat(reminder.next_due) if reminder.next_due else fire_at.date()
            today = now.astimezone(zone).date()
            stale = today > due_day or (stage == BEFORE and today >= due_day)
            period = due_day.strftime("%Y-%m")
            paid = await session.scalar(
                select(ReminderPayment.id).where(
                    ReminderPayment.reminder_id == reminder.id, ReminderPayment.period == period
                )
            )
            if not stale and paid is None:
                state, reason = (SKIPPED, OPTED_OUT) if contact.opted_out_at is not None else (QUEUED, None)
                queued += await _queue(session, reminder, contact, stage, due_day, now, state, reason)
            nxt = next_fire(fire_at, reminder.day_of_month, zone, days_before, hour)
            reminder.next_fire_at, reminder.next_stage, reminder.next_due = nxt.at, nxt.stage, nxt.due.isoformat()
    return queued


async def _queue(
    session: AsyncSession, reminder: Reminder, contact: Contact, stage: str, due: date, now: datetime,
    state: str, reason: str | None,
) -> int:  # fmt: skip
    values: dict[str, Any] = dict(
        source_key=f"r{reminder.id}:{due:%Y-%m}:{stage}",
        kind=KIND_REMINDER,
        reminder_id=reminder.id,
        contact_id=contact.id,
        channel=contact.channel,
        priority=0,
        state=state,
        reason=reason,
        not_before=now,
        attempts=0,
        payload={"stage": stage, "due": due.isoformat()},
        created_at=now,
        finished_at=now if state == SKIPPED else None,
    )
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(OutboxRow).values(**values).on_conflict_do_nothing(index_elements=["source_key", "contact_id"])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def amount_for(lead: Lead | None, month: date) -> int | None:
    """What the worker pays for the contribution month containing `month` (relief included when
    that month is inside their window): a reminder sent on 29 December for January prices January."""
    if lead is None:
        return None
    try:
        q = quote(int(lead.declared_income), int(lead.programmes), month, lead.is_transport)
    except (BelowMinimum, ValueError):
        return None
    return q.total


def render(
    renderer: Renderer, lang: str, payload: dict[str, Any], lead: Lead | None, today: date
) -> tuple[str, tuple[Button, ...], tuple[str, ...]]:
    """Text, buttons and WhatsApp template variables of one reminder occurrence.

    `due` is the worker's own pay day; the reminder is for the contribution month it falls in,
    whose payment is due on the 15th (bpu-facts §11): that date is what the reminder calls due.
    """
    stage = payload.get("stage", DUE)
    due = date.fromisoformat(payload["due"])
    amount = amount_for(lead, due)
    deadline = due_date(due)
    template = "reminder_before" if stage == BEFORE else "reminder_due"
    text = renderer.render(template, lang, today=today, amount=amount, due=due, days=(due - today).days,
                           deadline=deadline, month=formatting.month_year(due, lang))  # fmt: skip
    buttons = (
        Button(renderer.label("reminder_paid", lang), "rem:paid"),
        Button(renderer.label("reminder_stop", lang), "rem:stop"),
    )
    variables = (formatting.rupiah(amount, lang) if amount else "-", formatting.long_date(deadline, lang))
    return text, buttons, variables
