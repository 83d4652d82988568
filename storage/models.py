"""SQLAlchemy 2 typed models. Times are stored and read as aware UTC (storage/clock.py UTCDateTime)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    delete,
    event,
    insert,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.clock import UTCDateTime, utcnow
from storage.search import name_words


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Contact(Base):
    """A worker (or staff member) on one channel."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_contacts_channel_external"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(160))
    language: Mapped[str] = mapped_column(String(5), default="id")
    display_name: Mapped[str | None] = mapped_column(String(200))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(20))
    opted_out_at: Mapped[datetime | None]
    unreachable_at: Mapped[datetime | None]
    campaign_code: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(6))
    timezone: Mapped[str | None] = mapped_column(String(40))
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    state: Mapped[ConversationState | None] = relationship(
        back_populates="contact", cascade="all, delete-orphan", passive_deletes=True, uselist=False
    )


class ConversationState(Base):
    """Where a contact is in a conversation; saved after every message."""

    __tablename__ = "conversation_states"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    topic: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="state")


class InboundUpdate(Base):
    """Every platform update, recorded by its platform id before it is handled."""

    __tablename__ = "inbound_updates"
    __table_args__ = (UniqueConstraint("channel", "platform_id", name="uq_inbound_channel_platform"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageLog(Base):
    """The conversation, masked: personal numbers never stored in clear."""

    __tablename__ = "message_log"
    __table_args__ = (Index("ix_message_log_contact_at", "contact_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadStatus(StrEnum):
    """Where a lead is, in the order it moves. Stored as its text; compares equal to it."""

    NEW = "new"
    CONTACTED = "contacted"
    REGISTERED = "registered"
    DECLINED = "declined"


LEAD_STATUSES = tuple(LeadStatus)
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED)  # still being worked


class Role(StrEnum):
    """What a staff member may do: admin (everything), staff (the office), coordinator (their areas)."""

    ADMIN = "admin"
    STAFF = "staff"
    COORDINATOR = "coordinator"


ROLES = tuple(Role)


class Lead(Base):
    """What a coordinator needs to sign a worker up."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_status_created", "status", "created_at"),
        Index("ix_leads_kecamatan_status", "kecamatan_code", "status"),
        Index("ix_leads_kabkota_status", "kabkota_code", "status"),
        Index("ix_leads_nik_hash", "nik_hash"),
        Index("ix_leads_contact", "contact_id"),
        Index("ix_leads_nik_tail_hash", "nik_tail_hash"),
        # Leads whose NIK has not been checked yet (saved before migration 0009): found without a scan.
        Index(
            "ix_leads_unchecked",
            "id",
            sqlite_where=text("nik_checks IS NULL"),
            postgresql_where=text("nik_checks IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    full_name: Mapped[str] = mapped_column(String(120))
    nik_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    nik_hash: Mapped[str] = mapped_column(String(64))
    nik_masked: Mapped[str] = mapped_column(String(16))
    # A keyed hash of the NIK's last 4 digits (FieldCipher.tail_hash): staff find a lead by them
    # without the NIK being readable; NULL until checked (handlers/lead_quality.py fills it).
    nik_tail_hash: Mapped[str | None] = mapped_column(String(64))
    # What the NIK itself contradicts, found while it is in clear at save time: comma-separated flags
    # of handlers/lead_quality.py ("" none); NULL for a lead not checked yet.
    nik_checks: Mapped[str | None] = mapped_column(String(80))
    birth_date: Mapped[date] = mapped_column(Date)
    phone_e164: Mapped[str] = mapped_column(String(20))
    kabkota_code: Mapped[str] = mapped_column(String(4))
    kecamatan_code: Mapped[str] = mapped_column(String(6))
    occupation: Mapped[str] = mapped_column(String(40))
    is_transport: Mapped[bool] = mapped_column(Boolean, default=False)
    declared_income: Mapped[int] = mapped_column(BigInteger)
    programmes: Mapped[int] = mapped_column(Integer)  # 2 (JKK+JKM) or 3 (with JHT)
    continue_via: Mapped[str] = mapped_column(String(20))  # visit, call, self
    status: Mapped[str] = mapped_column(String(20), default="new")
    timezone: Mapped[str] = mapped_column(String(40))
    campaign_code: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LeadNameWord(Base):
    """Each word of a lead's name, folded (accents dropped, lower case): "eneng" finds "Enéng".

    A word prefix is a range of this primary key, so a name search is an index lookup on SQLite
    and PostgreSQL alike. Kept in step with `Lead.full_name` by the mapper events below."""

    __tablename__ = "lead_name_words"
    __table_args__ = (Index("ix_lead_name_words_lead", "lead_id"),)

    word: Mapped[str] = mapped_column(String(40), primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True)


def _write_name_words(connection: Any, lead: Lead, *, replace: bool) -> None:
    if replace:
        connection.execute(delete(LeadNameWord).where(LeadNameWord.lead_id == lead.id))
    words = name_words(lead.full_name)
    if words:
        connection.execute(insert(LeadNameWord), [{"word": w, "lead_id": lead.id} for w in words])


@event.listens_for(Lead, "after_insert")
def _lead_inserted(mapper: Any, connection: Any, lead: Lead) -> None:
    _write_name_words(connection, lead, replace=False)


@event.listens_for(Lead, "after_update")
def _lead_updated(mapper: Any, connection: Any, lead: Lead) -> None:
    from sqlalchemy import inspect

    if inspect(lead).attrs.full_name.history.has_changes():
        _write_name_words(connection, lead, replace=True)


class LeadEvent(Base):
    """A status change or note on a lead, with who did it."""

    __tablename__ = "lead_events"
    __table_args__ = (Index("ix_lead_events_lead", "lead_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))  # admin, staff, coordinator
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    areas: Mapped[list[StaffArea]] = relationship(cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")
    identities: Mapped[list[StaffIdentity]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin", order_by="StaffIdentity.id"
    )

    def identity(self, channel: str) -> str | None:
        """Who this staff member is on `channel`, as stored (None: not on it)."""
        return next((i.external_id for i in self.identities if i.channel == channel), None)


class StaffIdentity(Base):
    """A staff member on one chat channel. The stored form is the channel's (bot/channels/<name>/
    SPEC.staff_identity): a Telegram user id ("123456789"), a WhatsApp number ("+6281...")."""

    __tablename__ = "staff_identities"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_staff_identities_channel_external"),  # one person per chat
        UniqueConstraint("staff_id", "channel", name="uq_staff_identities_staff_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))


class StaffArea(Base):
    """An area a coordinator works: a kabupaten/kota (4 digits) or kecamatan (6 digits) code."""

    __tablename__ = "staff_areas"
    __table_args__ = (Index("ix_staff_areas_code", "area_code"),)

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(6), primary_key=True)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class UnansweredMessage(Base):
    """A message the bot could not place, masked, for staff to turn into training phrases."""

    __tablename__ = "unanswered_messages"
    __table_args__ = (Index("ix_unanswered_normalized", "normalized"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(String(500))
    intent_guess: Mapped[str | None] = mapped_column(String(40))
    confidence: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]
