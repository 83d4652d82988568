"""Queries, kept in one place so that every one has its index (see models.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.base import NO_VALUE

from storage import scope
from storage.clock import utcnow
from storage.models import (
    AuditLog,
    Contact,
    ConversationState,
    InboundUpdate,
    Lead,
    MessageLog,
    Staff,
    StaffArea,
    StaffIdentity,
    UnansweredMessage,
)


async def get_contact(session: AsyncSession, channel: str, external_id: str) -> Contact | None:
    """The contact with its conversation state, in one query (every message needs both)."""
    contact: Contact | None = await session.scalar(
        select(Contact)
        .options(joinedload(Contact.state))
        .where(Contact.channel == channel, Contact.external_id == external_id)
    )
    return contact


async def get_or_create_contact(
    session: AsyncSession,
    channel: str,
    external_id: str,
    *,
    language: str = "id",
    last_inbound_at: datetime | None = None,
) -> tuple[Contact, bool]:
    contact = await get_contact(session, channel, external_id)
    if contact is not None:
        return contact, False
    # Created with its (empty) conversation state and first-seen time: one flush, no further queries.
    contact = Contact(
        channel=channel,
        external_id=external_id,
        language=language,
        last_inbound_at=last_inbound_at,
        state=ConversationState(data={}),
    )
    session.add(contact)
    await session.flush()
    return contact, True


async def mark_unreachable(session: AsyncSession, channel: str, external_id: str, when: datetime) -> None:
    contact = await get_contact(session, channel, external_id)
    if contact is not None and contact.unreachable_at is None:
        contact.unreachable_at = when


async def get_state(session: AsyncSession, contact: Contact) -> ConversationState:
    loaded = inspect(contact).attrs.state.loaded_value
    state = await session.get(ConversationState, contact.id) if loaded is NO_VALUE else loaded
    if state is None:
        state = ConversationState(contact_id=contact.id, data={})
        session.add(state)
    return state


async def count_messages(session: AsyncSession, contact_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(MessageLog.contact_id == contact_id)) or 0)


async def leads_of_contact(session: AsyncSession, contact_id: int) -> Sequence[Lead]:
    rows = await session.scalars(select(Lead).where(Lead.contact_id == contact_id).order_by(Lead.id))
    return rows.all()


async def lead_by_nik_hash(session: AsyncSession, nik_hash: str) -> Lead | None:
    lead: Lead | None = await session.scalar(select(Lead).where(Lead.nik_hash == nik_hash).limit(1))
    return lead


async def delete_contact(session: AsyncSession, contact: Contact, state: ConversationState | None) -> None:
    """Everything kept about a worker: leads, state, message log, unanswered log, the contact."""
    for model in (Lead, MessageLog, UnansweredMessage):
        await session.execute(delete(model).where(model.contact_id == contact.id))
    if state is not None and state in session:
        if inspect(state).pending:
            session.expunge(state)
        elif inspect(contact).attrs.state.loaded_value is not state:
            await session.delete(state)  # not reachable through the relationship's cascade
    await session.delete(contact)
    await session.flush()


async def audit(session: AsyncSession, actor: str, action: str, **detail: Any) -> None:
    session.add(AuditLog(actor=actor, action=action, detail=detail))


async def log_unanswered(
    session: AsyncSession,
    contact_id: int | None,
    text: str,
    normalized: str,
    intent_guess: str | None,
    confidence: float | None,
) -> None:
    session.add(
        UnansweredMessage(
            contact_id=contact_id,
            text=text[:2000],
            normalized=normalized[:500],
            intent_guess=intent_guess,
            confidence=confidence,
        )
    )


async def staff_for(session: AsyncSession, channel: str, external_id: str | None) -> Staff | None:
    """The active staff member behind a chat user, checked on every staff command. `external_id`
    is already in the stored form of `channel` (its SPEC.staff_identity turns a user id into it)."""
    if not external_id:
        return None
    staff: Staff | None = await session.scalar(
        select(Staff)
        .join(StaffIdentity, StaffIdentity.staff_id == Staff.id)
        .where(StaffIdentity.channel == channel, StaffIdentity.external_id == external_id, Staff.active.is_(True))
    )
    return staff


async def identity_owner(session: AsyncSession, channel: str, external_id: str) -> int | None:
    """The id of the staff member (active or not) who is `external_id` on `channel`."""
    owner: int | None = await session.scalar(
        select(StaffIdentity.staff_id).where(StaffIdentity.channel == channel, StaffIdentity.external_id == external_id)
    )
    return owner


def set_identities(staff: Staff, identities: Mapping[str, str | None]) -> bool:
    """Make the staff member's identities on these channels the given ones (None or "": none on
    it); channels not named keep theirs. Whether anything changed. Values are in stored form."""
    changed = False
    kept = []
    for identity in staff.identities:
        wanted = identities.get(identity.channel, identity.external_id) or None
        if wanted is None:
            changed = True
            continue  # deleted as an orphan
        if wanted != identity.external_id:
            identity.external_id, changed = wanted, True
        kept.append(identity)
    have = {i.channel for i in kept}
    for channel, external_id in identities.items():
        if external_id and channel not in have:
            kept.append(StaffIdentity(channel=channel, external_id=external_id))
            changed = True
    if changed:
        staff.identities = kept
    return changed


def staff_name_key(name: str) -> str:
    """A staff name as logins compare it: "Asep  KOORDINATOR" is "asep koordinator"."""
    return " ".join(name.split()).casefold()[:120]


async def staff_named(session: AsyncSession, name: str) -> Staff | None:
    """The staff member (active or not) with this name in any case and spacing. Names are the
    dashboard login: a "budi" beside "Budi" would be one login for two people."""
    key = staff_name_key(name)
    # Compared in Python: SQLite's lower() folds ASCII only, and staff are a few hundred rows.
    for staff_id, existing in await session.execute(select(Staff.id, Staff.name).order_by(Staff.id)):
        if staff_name_key(existing) == key:
            return await session.get(Staff, staff_id)
    return None


async def add_staff(
    session: AsyncSession,
    *,
    name: str,
    role: str,
    identities: Mapping[str, str | None] | None = None,
    areas: Sequence[str] = (),
    password_hash: str | None = None,
) -> Staff:
    """A new staff member; `identities`: channel -> their id on it, in stored form
    ({"telegram": "123456789", "whatsapp": "+6281..."})."""
    staff = Staff(
        name=name,
        role=role,
        password_hash=password_hash,
        areas=[StaffArea(area_code=code) for code in dict.fromkeys(areas)],
        identities=[StaffIdentity(channel=c, external_id=i) for c, i in (identities or {}).items() if i],
    )
    session.add(staff)
    await session.flush()
    return staff


def leads_query(*, area: str | None = None, status: str | None = None, areas: Sequence[str] | None = None) -> Any:
    """Leads filtered by area (kabupaten/kota or kecamatan code) and status, oldest first.

    `areas` restricts to a coordinator's areas; it is applied in SQL, never after the fact.
    """
    query = select(Lead).order_by(Lead.created_at, Lead.id)
    if area:
        query = query.where(scope.lead_in(area))
    if status:
        query = query.where(Lead.status == status)
    if areas is not None:
        query = query.where(scope.leads_in(areas))
    return query


async def unanswered_groups(session: AsyncSession, *, limit: int = 50, include_handled: bool = False) -> list[Any]:
    """Messages the bot could not place, grouped by their normalised text, most frequent first."""
    query = (
        select(
            UnansweredMessage.normalized,
            func.count().label("count"),
            func.max(UnansweredMessage.text).label("example"),
            func.max(UnansweredMessage.intent_guess).label("guess"),
            func.max(UnansweredMessage.created_at).label("last_at"),
        )
        .group_by(UnansweredMessage.normalized)
        .order_by(func.count().desc(), func.max(UnansweredMessage.created_at).desc())
        .limit(limit)
    )
    if not include_handled:
        query = query.where(UnansweredMessage.handled_at.is_(None))
    return list((await session.execute(query)).all())


async def coordinator_for(session: AsyncSession, kecamatan_code: str) -> Staff | None:
    """The coordinator of a kecamatan, else of its kabupaten/kota (the longest matching area wins)."""
    query = (
        select(Staff)
        .join(StaffArea, StaffArea.staff_id == Staff.id)
        .where(
            Staff.role == "coordinator",
            Staff.active.is_(True),
            StaffArea.area_code.in_((kecamatan_code, kecamatan_code[:4])),
        )
        .order_by(func.length(StaffArea.area_code).desc(), Staff.id)
        .limit(1)
    )
    staff: Staff | None = await session.scalar(query)
    return staff


async def first_time(session: AsyncSession, kind: str, key: str) -> bool:
    """True the first time `key` of `kind` is seen, in any process (one row of inbound_updates,
    the same record that makes a platform update handled once): "tell a group once" survives a
    restart and holds across processes."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(InboundUpdate)
        .values(channel=kind, platform_id=key, received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["channel", "platform_id"])
        .returning(InboundUpdate.id)
    )
    return (await session.scalar(statement)) is not None
