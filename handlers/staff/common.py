"""What every staff command needs: who the staff member is, their roles, their leads, the menu."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any
from zoneinfo import ZoneInfo

from content import regions
from handlers import menu
from handlers.staff_identity import stored
from handlers.turn import Turn
from storage import repositories as repo
from storage import scope
from storage.models import Lead, Role, Staff

LEAD_ROLES = (Role.COORDINATOR, Role.ADMIN)
STATS_ROLES = (Role.STAFF, Role.COORDINATOR, Role.ADMIN)
BROADCAST_ROLES = (Role.STAFF, Role.ADMIN)
HANDOVER_ROLES = (Role.COORDINATOR, Role.STAFF, Role.ADMIN)


async def staff_of(turn: Turn) -> Staff | None:
    """The active staff member behind this chat, checked on every call."""
    rules = turn.services.staff_identities
    return await repo.staff_for(turn.session, turn.msg.channel, stored(rules, turn.msg.channel, turn.msg.user_id))


async def find_lead(turn: Turn, staff: Staff | None, lead_id: int | None) -> Lead | None:
    if staff is None or lead_id is None:
        return None
    query = repo.leads_query(areas=scope.of(staff)).where(Lead.id == lead_id)
    lead: Lead | None = await turn.session.scalar(query)
    return lead


def area_names(staff: Staff) -> list[str]:
    names = []
    for area in staff.areas:
        region = regions.get(area.area_code)
        names.append(region.name if region else area.area_code)
    return names


def area_name(code: str | None) -> str | None:
    region = regions.get(code) if code else None
    return region.name if region else code


def local_day(turn: Turn, when: Any) -> date:
    if when is None:
        return turn.today
    if when.tzinfo is None:  # SQLite hands back naive UTC
        when = when.replace(tzinfo=UTC)
    return when.astimezone(ZoneInfo(turn.services.timezone)).date()  # type: ignore[no-any-return]


def show_menu(turn: Turn) -> None:
    menu.menu(turn, intro=False)


def to_int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 12 else None
