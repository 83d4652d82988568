"""Campaigns: broadcasts, the outbox that delivers them (and reminders), reminders, payments, RSVPs.

The outbox holds one row per (source, contact): `source_key` is `b<broadcast id>` for a broadcast
and `r<reminder id>:<YYYY-MM>:<stage>` for one reminder occurrence, and the pair is unique, so
fanning a broadcast out twice, or a reminder tick running twice, never queues a second message.
The life of a row and why a crash cannot send it twice: bot/delivery/outbox.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.clock import utcnow
from storage.models import Base

# Outbox states.
QUEUED = "queued"  # waiting for its time (not_before) and a worker
CLAIMED = "claimed"  # reserved by a worker, not attempted yet: safe to give back
SENDING = "sending"  # the platform may have it: never sent again automatically
SENT = "sent"
# The request may have reached the platform but no answer says so (a timeout after it was
# written, a crash mid-send): may have arrived, so never sent again without a person deciding.
UNCERTAIN = "uncertain"
FAILED = "failed"  # the platform surely does not have it and trying again will not help (or gave up)
SKIPPED = "skipped"  # not sent on purpose, `reason` says why
STATES = (QUEUED, CLAIMED, SENDING, SENT, UNCERTAIN, FAILED, SKIPPED)
FINISHED = (SENT, UNCERTAIN, FAILED, SKIPPED)  # a worker is done with these rows

# Reasons (skipped, failed, or a deferral noted on a queued row).
OPTED_OUT = "opted_out"
UNREACHABLE = "unreachable"
QUIET_HOURS = "quiet_hours"
NO_TEMPLATE = "no_template"  # WhatsApp, outside the 24-hour window, no approved template configured
CANCELLED = "cancelled"
PAID = "paid"
REMINDER_OFF = "reminder_off"
INTERRUPTED = "interrupted"  # uncertain: the worker stopped (a crash) between the request and its answer
NO_ANSWER = "no_answer"  # uncertain: the request went out and no answer came back that says what became of it
DAILY_LIMIT = "daily_limit"  # deferred to a later day by WHATSAPP_DAILY_LIMIT

KIND_BROADCAST = "broadcast"
KIND_REMINDER = "reminder"


class Broadcast(Base):
    """An announcement to a segment, now or at a time; fanned out into the outbox when due."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_at", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str | None] = mapped_column(String(80))  # a content template (broadcast_*.j2)
    text: Mapped[str | None] = mapped_column(Text)  # or a text given as is
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)  # facts for the template
    segment: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"area": "3673", "occupation": ...}
    channels: Mapped[str | None] = mapped_column(String(60))  # "telegram,whatsapp"; None: every channel
    rsvp: Mapped[bool] = mapped_column(Boolean, default=False)
    quiet_policy: Mapped[str] = mapped_column(String(10), default="defer")  # defer or skip
    status: Mapped[str] = mapped_column(String(20), default="scheduled")  # scheduled, sending, done, cancelled
    scheduled_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # rows fanned out
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # Leads whose Lead.campaign_code equals this are counted as the broadcast's (migration 0005).
    campaign_code: Mapped[str | None] = mapped_column(String(64))
    # The campaign's link each channel's message carries: {"telegram": "https://t.me/...", "whatsapp": ...} (0009).
    links: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class OutboxRow(Base):
    """One message to one contact, from a broadcast or one reminder occurrence."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("source_key", "contact_id", name="uq_outbox_source_contact"),
        Index("ix_outbox_claim", "channel", "state", "priority", "not_before", "id"),
        Index("ix_outbox_broadcast_state", "broadcast_id", "state"),
        Index("ix_outbox_state_token", "state", "claim_token"),
        Index("ix_outbox_contact", "contact_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))  # broadcast, reminder, digest, handover_alert, handover_reply
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=1)  # lower first: reminders 0, broadcasts 1
    state: Mapped[str] = mapped_column(String(10), default=QUEUED)
    reason: Mapped[str | None] = mapped_column(String(20))
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    claim_token: Mapped[int | None] = mapped_column(BigInteger)
    claimed_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # reminder: due date, stage
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Reminder(Base):
    """A worker's monthly payment reminder: the day of the month they pay, and the next fire."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("contact_id", name="uq_reminders_contact"),
        Index("ix_reminders_due", "active", "next_fire_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    day_of_month: Mapped[int] = mapped_column(Integer)  # 1..31; clamped to short months
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_fire_at: Mapped[datetime | None]  # UTC instant of the next reminder
    next_stage: Mapped[str | None] = mapped_column(String(10))  # before, due
    next_due: Mapped[str | None] = mapped_column(String(10))  # ISO date of the due day it is for
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReminderPayment(Base):
    """ "sudah bayar": that month's reminders stop. One row per reminder and month (YYYY-MM)."""

    __tablename__ = "reminder_payments"
    __table_args__ = (UniqueConstraint("reminder_id", "period", name="uq_reminder_payments_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminders.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class RsvpAnswer(Base):
    """A worker's answer to an announcement's RSVP buttons (hadir / tidak bisa); the last one counts."""

    __tablename__ = "rsvp_answers"
    __table_args__ = (UniqueConstraint("broadcast_id", "contact_id", name="uq_rsvp_broadcast_contact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(5))  # yes, no
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
