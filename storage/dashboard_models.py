"""Tables the staff dashboard adds: callback requests and their history, failed logins, session
epochs, coordinator targets.

Kept apart from models.py so the dashboard's schema lives in one module (migrations 0003, 0007, 0008).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.clock import utcnow
from storage.models import Base


class CallbackRequest(Base):
    """A worker asked for a person; the coordinator of their area calls back."""

    __tablename__ = "callback_requests"
    __table_args__ = (
        Index("ix_callback_status_created", "status", "created_at"),
        Index("ix_callback_kecamatan_status", "kecamatan_code", "status"),
        Index("ix_callback_contact", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text, default="")  # masked with handlers.redact
    kecamatan_code: Mapped[str | None] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, done
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    # The phone the worker gave to be called on (or their WhatsApp number), in clear: shown only to
    # the coordinators of the request's area and office staff (migration 0008).
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    alerted_at: Mapped[datetime | None]  # when the coordinator (or the office) was told
    replied_at: Mapped[datetime | None]  # a person's last reply: the worker's next words go to them


class HandoverMessage(Base):
    """One entry of a request's history: the worker's words, a person's reply, the closing note.

    The one place a handover conversation is kept; the dashboard, the chat commands and the
    delivery worker (which sends `staff` entries to the worker and `worker` entries to the
    coordinator) all read it here. A worker's words are masked (handlers.redact), as in the log.
    """

    __tablename__ = "handover_messages"
    __table_args__ = (Index("ix_handover_messages_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(10))  # worker, staff, note (closing)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginFailure(Base):
    """One failed dashboard login (or one being checked), by the case-folded name typed and the
    client's address; shared by every process."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_name_at", "name_key", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name_key: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionEpoch(Base):
    """The generation of a staff member's sessions: a cookie signed for an older one is void.

    Logging out, deactivation and a password change move it on, which ends every session of
    the account at once, on every device, in every process (a signed cookie alone cannot be
    taken back). No row is generation 0.
    """

    __tablename__ = "staff_session_epochs"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, default=0)


class CoordinatorTarget(Base):
    """An optional yearly target of registered workers for one coordinator."""

    __tablename__ = "coordinator_targets"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    target: Mapped[int] = mapped_column(Integer)


# Indexes for the dashboard's queries on tables defined in models.py. Declared here, on those
# tables, so the metadata (and Alembic's autogenerate) knows them; created by migration 0003.
from storage.models import Contact, Lead, Staff, UnansweredMessage  # noqa: E402

LEAD_INDEXES = (
    Index("ix_leads_created_id", Lead.created_at, Lead.id),
    Index("ix_leads_kabkota_created", Lead.kabkota_code, Lead.created_at),
    Index("ix_leads_kecamatan_created", Lead.kecamatan_code, Lead.created_at),
    Index("ix_leads_occupation_created", Lead.occupation, Lead.created_at),
    Index("ix_leads_campaign_created", Lead.campaign_code, Lead.created_at),
    Index("ix_leads_assigned_status", Lead.assigned_staff_id, Lead.status),
    Index("ix_leads_created_by", Lead.created_by_staff_id),
    Index("ix_leads_name_id", Lead.full_name, Lead.id),
    # A prefix search on the phone number (LIKE '+62812%') uses this in any collation.
    Index("ix_leads_phone", Lead.phone_e164, postgresql_ops={"phone_e164": "text_pattern_ops"}),
    # Name search anywhere in the name (ILIKE '%ani%'): a trigram index, PostgreSQL only.
    Index(
        "ix_leads_name_trgm",
        Lead.full_name,
        postgresql_using="gin",
        postgresql_ops={"full_name": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql"),
)
OTHER_INDEXES = (
    Index("ix_contacts_created", Contact.created_at),
    Index("ix_contacts_region", Contact.region_code),
    Index("ix_staff_name", Staff.name),
    Index("ix_unanswered_handled_normalized", UnansweredMessage.handled_at, UnansweredMessage.normalized),
)
