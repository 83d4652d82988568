"""What the bot sent and what became of it, and the inbox of webhook bodies not yet handled.

`OutboundMessage` keeps one row per message a channel sent (or tried to send), keyed by the
platform's id for it (WhatsApp's wamid). Delivery statuses arrive in any order and are merged
so that a row only moves forward: accepted < sent < delivered < read; a failure is final and
keeps its error code whatever came before or after.

`WebhookInbox` holds a webhook body (encrypted) from the moment it is acknowledged until it
has been handled, so that a crash between the two loses nothing: the channel handles what is
left when it starts again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.clock import utcnow
from storage.models import Base

PURPOSES = ("reply", "broadcast", "reminder")

ACCEPTED, SENT, DELIVERED, READ = "accepted", "sent", "delivered", "read"
FAILED, NEEDS_TEMPLATE, UNDELIVERABLE = "failed", "needs_template", "undeliverable"
UNCERTAIN = "uncertain"  # the request may have reached the platform; no answer says so (no id)
STATUSES = (ACCEPTED, SENT, DELIVERED, READ, FAILED, NEEDS_TEMPLATE, UNDELIVERABLE, UNCERTAIN)
FAILURES = frozenset({FAILED, NEEDS_TEMPLATE, UNDELIVERABLE})
_RANK = {ACCEPTED: 0, SENT: 1, DELIVERED: 2, READ: 3}


class OutboundMessage(Base):
    """One message sent to a contact, with its latest delivery status."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "platform_message_id", name="uq_outbound_channel_platform"),
        Index("ix_outbound_contact_created", "contact_id", "created_at"),
        Index("ix_outbound_status_updated", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    platform_message_id: Mapped[str | None] = mapped_column(String(200))  # None when the send was refused
    purpose: Mapped[str | None] = mapped_column(String(20))  # None until the sender records it
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookInbox(Base):
    """A webhook body acknowledged but not yet handled (encrypted: it may hold a NIK)."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        Index("ix_webhook_inbox_channel", "channel", "id"),
        Index("ix_webhook_inbox_chat", "channel", "chat", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Whose message it is (the channel's user id), when the body holds one chat's messages only.
    chat: Mapped[str | None] = mapped_column(String(64))


async def inbox_left(session: AsyncSession, channel: str) -> list[tuple[int, bytes]]:
    """The inbox rows of `channel` not handled yet (left by a crash or a restart), oldest first:
    (id, encrypted body). Each channel decides what its bodies mean."""
    rows = await session.execute(
        select(WebhookInbox.id, WebhookInbox.body).where(WebhookInbox.channel == channel).order_by(WebhookInbox.id)
    )
    return [(int(inbox_id), body) for inbox_id, body in rows.all()]


async def earlier_in_inbox(
    session: AsyncSession, channel: str, chat: str, inbox_id: int, handled: Collection[int] = ()
) -> bool:
    """Whether an earlier message of this chat is still in the inbox (kept, not yet handled);
    `handled`: rows already handled, about to be removed."""
    query = select(WebhookInbox.id).where(
        WebhookInbox.channel == channel, WebhookInbox.chat == chat, WebhookInbox.id < inbox_id
    )
    if handled:
        query = query.where(WebhookInbox.id.notin_(list(handled)))
    return (await session.scalar(query.limit(1))) is not None


def merge_status(current: str, new: str) -> str:
    """The status a message has after `new` arrives when it had `current`."""
    if current in FAILURES:
        return current
    if new in FAILURES:
        return new
    return new if _RANK.get(new, -1) > _RANK.get(current, -1) else current


async def record_sent(
    session: AsyncSession,
    *,
    channel: str,
    contact_id: int | None,
    platform_message_id: str | None,
    purpose: str,
    status: str,
    error_code: int | None = None,
    error_title: str | None = None,
    now: datetime | None = None,
) -> OutboundMessage:
    """Record a send attempt. A status webhook may have come first: then the row exists and is merged."""
    row, created = await _find_or_insert(
        session, channel, platform_message_id, now or utcnow(), status, error_code, error_title,
        contact_id=contact_id, purpose=purpose,
    )  # fmt: skip
    if not created:
        row.contact_id = row.contact_id or contact_id
        row.purpose = purpose
    return row


async def apply_status(
    session: AsyncSession,
    *,
    channel: str,
    platform_message_id: str,
    status: str,
    error_code: int | None = None,
    error_title: str | None = None,
    now: datetime | None = None,
) -> OutboundMessage:
    """Merge a delivery status into its message; creates the row when the status came before the send."""
    row, _ = await _find_or_insert(
        session, channel, platform_message_id, now or utcnow(), status, error_code, error_title
    )
    return row


async def _find_or_insert(
    session: AsyncSession,
    channel: str,
    platform_message_id: str | None,
    now: datetime,
    status: str,
    error_code: int | None,
    error_title: str | None,
    **fields: object,
) -> tuple[OutboundMessage, bool]:
    """The message with this platform id with `status` merged in, or a new one (True) holding it.

    Sends and status webhooks race: whichever writes second merges into the first one's row.
    """
    for _ in range(2):
        row = None if platform_message_id is None else await _by_platform_id(session, channel, platform_message_id)
        if row is not None:
            _merge(row, status, error_code, error_title, now)
            return row, False
        row = OutboundMessage(
            channel=channel,
            platform_message_id=platform_message_id,
            status=status,
            error_code=error_code,
            error_title=_title(error_title),
            created_at=now,
            updated_at=now,
            **fields,
        )
        if await _insert(session, row):
            return row, True
        # Another writer inserted the same platform id first: merge into theirs, once.
    raise RuntimeError(f"outbound message {channel}/{platform_message_id} could not be recorded")


async def get_outbound(session: AsyncSession, channel: str, platform_message_id: str) -> OutboundMessage | None:
    return await _by_platform_id(session, channel, platform_message_id)


def _merge(row: OutboundMessage, status: str, error_code: int | None, error_title: str | None, now: datetime) -> None:
    merged = merge_status(row.status, status)
    if merged != row.status:
        row.status = merged
        row.updated_at = now
        if merged in FAILURES:
            row.error_code = error_code
            row.error_title = _title(error_title)


async def _by_platform_id(session: AsyncSession, channel: str, platform_message_id: str) -> OutboundMessage | None:
    row: OutboundMessage | None = await session.scalar(
        select(OutboundMessage).where(
            OutboundMessage.channel == channel, OutboundMessage.platform_message_id == platform_message_id
        )
    )
    return row


async def _insert(session: AsyncSession, row: OutboundMessage) -> bool:
    """Insert in a savepoint; False when another writer inserted the same platform id first."""
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def _title(title: str | None) -> str | None:
    return title[:200] if title else None
