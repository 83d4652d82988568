"""The yearly target as a weekly pace, with this week's actual beside it (issue 16, item 9).

101,000 a year is 1,943 a week (the target over 52 weeks, rounded up): what a branch can check
every Monday. This week runs from Monday 00:00 in the branch's time (BPU_TIMEZONE); its actual
is the leads marked registered this week (a status change to "registered" this week, or a lead
saved as registered this week) and still registered. Shown for the branch (the yearly target),
for each kabupaten/kota and kecamatan that has a target of its own (its kecamatan beneath a
kabupaten/kota, with what they registered), and per coordinator (their own target, their
assigned leads).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import scope
from storage.models import Lead, LeadEvent

WEEKS_PER_YEAR = 52


def weekly_pace(target: int) -> int:
    return math.ceil(target / WEEKS_PER_YEAR) if target > 0 else 0


def week_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Monday 00:00 of this week in the branch's zone, as UTC."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time.min, tz).astimezone(UTC)


def registered_since(since: datetime) -> Any:
    """Leads registered since `since`: marked so since then, or saved as registered since then."""
    marked = exists().where(
        LeadEvent.lead_id == Lead.id, LeadEvent.status == "registered", LeadEvent.created_at >= since
    )
    return (Lead.status == "registered") & or_(Lead.created_at >= since, marked)


@dataclass(slots=True)
class WeekCounts:
    total: int
    by_kabkota: dict[str, int]
    by_kecamatan: dict[str, int]
    by_coordinator: dict[int, int]


async def this_week(session: AsyncSession, since: datetime, areas: Sequence[str] | None) -> WeekCounts:
    """This week's registrations by kecamatan (and so kabupaten/kota) and by assigned coordinator."""
    cond = registered_since(since)
    by_kecamatan: dict[str, int] = {}
    by_kabkota: dict[str, int] = {}
    for kecamatan, kabkota, count in await session.execute(
        select(Lead.kecamatan_code, Lead.kabkota_code, func.count())
        .where(cond, scope.leads_in(areas))
        .group_by(Lead.kecamatan_code, Lead.kabkota_code)
    ):
        by_kecamatan[kecamatan] = by_kecamatan.get(kecamatan, 0) + count
        by_kabkota[kabkota] = by_kabkota.get(kabkota, 0) + count
    by_coordinator: dict[int, int] = {}
    for staff_id, count in await session.execute(
        select(Lead.assigned_staff_id, func.count())
        .where(cond, Lead.assigned_staff_id.is_not(None))
        .group_by(Lead.assigned_staff_id)
    ):
        if staff_id is not None:
            by_coordinator[staff_id] = int(count)
    return WeekCounts(sum(by_kabkota.values()), by_kabkota, by_kecamatan, by_coordinator)


@dataclass(slots=True)
class PaceRow:
    label: str
    target: int | None  # the yearly target; None: none set
    actual: int  # registered this week
    level: str  # branch, kabkota, kecamatan, coordinator
    code: str = ""

    @property
    def pace(self) -> int | None:
        return weekly_pace(self.target) if self.target else None

    @property
    def share(self) -> int | None:
        """This week's actual as a percentage of the weekly pace."""
        pace = self.pace
        return round(100 * self.actual / pace) if pace else None

    @property
    def on_pace(self) -> bool | None:
        pace = self.pace
        return None if not pace else self.actual >= pace


def region_rows(
    targets: dict[str, int], week: WeekCounts, name: Any, kecamatan_of: Any, areas: Sequence[str] | None
) -> list[PaceRow]:
    """A row per kabupaten/kota with a target (then its kecamatan: their own target if set, and
    any that registered someone this week) and per kecamatan target whose kabupaten/kota has none."""
    rows: list[PaceRow] = []
    kabkota_codes = [code for code in targets if len(code) == 4]
    for code in kabkota_codes:
        rows.append(PaceRow(name(code), targets[code], week.by_kabkota.get(code, 0), "kabkota", code))
        for kecamatan in kecamatan_of(code):
            k = kecamatan.code
            if not scope.covers(areas, k):
                continue
            if k in targets or week.by_kecamatan.get(k):
                rows.append(PaceRow(kecamatan.name, targets.get(k), week.by_kecamatan.get(k, 0), "kecamatan", k))
    for code, target in targets.items():
        if len(code) == 6 and code[:4] not in targets:
            rows.append(PaceRow(name(code), target, week.by_kecamatan.get(code, 0), "kecamatan", code))
    return rows
