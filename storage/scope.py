"""A coordinator's areas, the one privacy rule every reader of leads, requests and contacts obeys.

An area is a kabupaten/kota code (4 digits: "3673", everything in it) or a kecamatan code
(6 digits: "367302"). `areas=None` means no restriction (office staff, admins); an empty list
means nothing at all (a coordinator with no area yet). The rule is applied in SQL, never after the
fact, so no page, export, chat command or broadcast can reach a row outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import false, func, or_, true

from storage.models import Lead, Staff

KABKOTA_DIGITS = 4
KECAMATAN_DIGITS = 6


def covers(areas: Sequence[str] | None, code: str | None) -> bool:
    """Whether a kecamatan (or kabupaten/kota) `code` lies in `areas`."""
    if areas is None:
        return True
    if not code:
        return False
    return any(code == area or (len(area) == KABKOTA_DIGITS and code.startswith(area)) for area in areas)


def lead_in(area: str) -> Any:
    """Leads in one area, by the lead's own codes (indexed)."""
    return Lead.kabkota_code == area if len(area) == KABKOTA_DIGITS else Lead.kecamatan_code == area


def leads_in(areas: Sequence[str] | None) -> Any:
    """The WHERE clause for leads a person with `areas` may see."""
    if areas is None:
        return true()
    return or_(*[lead_in(area) for area in areas]) if areas else false()


def kecamatan_in(column: Any, areas: Sequence[str] | None) -> Any:
    """The WHERE clause for rows placed by a kecamatan code `column` (a callback request, a contact)."""
    if areas is None:
        return true()
    conditions = [
        func.substr(column, 1, KABKOTA_DIGITS) == area if len(area) == KABKOTA_DIGITS else column == area
        for area in areas
    ]
    return or_(*conditions) if conditions else false()


def of(staff: Staff | None) -> list[str] | None:
    """The areas a staff member may see: None for all (admin, office staff), their own for a
    coordinator (none assigned: nothing), nothing for no one."""
    if staff is None:
        return []
    if staff.role == "coordinator":
        return [area.area_code for area in staff.areas]
    return None
