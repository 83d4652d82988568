"""Who works a lead, decided again when coordinators or their areas change.

The rule is `repositories.coordinator_for` (the kecamatan's coordinator, else the kabupaten/
kota's), the one every new lead is assigned by. Here it is re-run for existing leads:
- `pick_up`: a coordinator got areas (created, given an area, made coordinator, active again):
  the unassigned open leads there get their coordinator;
- `release`: a coordinator was deactivated, stopped being one or lost an area: their open leads
  they no longer cover go to the area's other active coordinator, else back to the pool
  (unassigned), where the office sees them in the leads list's "unassigned".
Each move is written on the lead (a lead event, "[reassign] A → B"); the caller audits the totals.
Finished leads (registered, declined) keep the coordinator who worked them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.models import OPEN_STATUSES, Lead, LeadEvent, Staff


def overdue(now: datetime, followup_hours: int) -> Any:
    """The one rule for a lead waiting too long: still `new` more than BPU_FOLLOWUP_HOURS after it
    came (the digest counts these, the overview and the leads list's "overdue" show them)."""
    return waiting_since(now - timedelta(hours=followup_hours))


def waiting_since(before: datetime) -> Any:
    """`overdue` with its cut-off instant already computed."""
    return and_(Lead.status == "new", Lead.created_at < before)


@dataclass(slots=True)
class Moves:
    picked_up: int = 0  # unassigned leads that now have a coordinator
    passed_on: int = 0  # released leads that went to another coordinator
    pooled: int = 0  # released leads left without one

    def __bool__(self) -> bool:
        return bool(self.picked_up or self.passed_on or self.pooled)

    def __add__(self, other: Moves) -> Moves:
        return Moves(self.picked_up + other.picked_up, self.passed_on + other.passed_on, self.pooled + other.pooled)

    def as_dict(self) -> dict[str, int]:
        return {"picked_up": self.picked_up, "passed_on": self.passed_on, "pooled": self.pooled}


async def pick_up(session: AsyncSession, areas: Sequence[str], *, by_staff_id: int | None = None) -> Moves:
    """Give the unassigned open leads of `areas` to their coordinator, where there is one now."""
    moves = Moves()
    if not areas:
        return moves
    query = repo.leads_query(areas=areas).where(Lead.assigned_staff_id.is_(None), Lead.status.in_(OPEN_STATUSES))
    await session.flush()
    owners: dict[str, Staff | None] = {}
    for lead in list((await session.scalars(query)).all()):
        owner = await _owner(session, lead.kecamatan_code, owners)
        if owner is not None:
            await move(session, lead, owner, by_staff_id)
            moves.picked_up += 1
    return moves


async def release(session: AsyncSession, staff_id: int, *, by_staff_id: int | None = None) -> Moves:
    """The open leads of `staff_id` outside what they now cover: to the area's coordinator, else unassigned."""
    await session.flush()
    staff = await session.get(Staff, staff_id)
    covered = [a.area_code for a in staff.areas] if staff and staff.active and staff.role == "coordinator" else []
    still_theirs = repo.leads_query(areas=covered).with_only_columns(Lead.id).order_by(None)
    query = (
        select(Lead)
        .where(Lead.assigned_staff_id == staff_id, Lead.status.in_(OPEN_STATUSES), Lead.id.not_in(still_theirs))
        .order_by(Lead.id)
    )
    moves = Moves()
    owners: dict[str, Staff | None] = {}
    for lead in list((await session.scalars(query)).all()):
        owner = await _owner(session, lead.kecamatan_code, owners)
        await move(session, lead, owner, by_staff_id)
        if owner is None:
            moves.pooled += 1
        else:
            moves.passed_on += 1
    return moves


async def _owner(session: AsyncSession, kecamatan: str, known: dict[str, Staff | None]) -> Staff | None:
    """`coordinator_for`, asked once per kecamatan however many leads it has."""
    if kecamatan not in known:
        known[kecamatan] = await repo.coordinator_for(session, kecamatan)
    return known[kecamatan]


async def move(session: AsyncSession, lead: Lead, owner: Staff | None, by_staff_id: int | None) -> None:
    """Give `lead` to `owner` (None: unassigned), written on the lead as "[reassign] A → B"."""
    before = await session.get(Staff, lead.assigned_staff_id) if lead.assigned_staff_id else None
    lead.assigned_staff_id = owner.id if owner else None
    note = f"[reassign] {before.name if before else '—'} → {owner.name if owner else '—'}"
    session.add(LeadEvent(lead_id=lead.id, staff_id=by_staff_id, note=note))
