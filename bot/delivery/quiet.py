"""Quiet hours (BPU_QUIET_HOURS, e.g. `21-7`) in the contact's own zone: WIB, WITA or WIT by region."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from content.regions import timezone_for


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def contact_zone(timezone: str | None, region_code: str | None, default: str) -> ZoneInfo:
    """The contact's zone: the one stored with them, else their region's, else BPU_TIMEZONE."""
    if timezone:
        try:
            return _zone(timezone)
        except (KeyError, ValueError):
            pass
    if region_code:
        return _zone(timezone_for(region_code))
    return _zone(default)


def in_quiet_hours(local: datetime, quiet: tuple[int, int]) -> bool:
    start, end = quiet
    if start == end:
        return False
    hour = local.hour
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def next_allowed(now: datetime, zone: ZoneInfo, quiet: tuple[int, int]) -> datetime | None:
    """None when `now` is outside quiet hours in `zone`; else the UTC instant they end."""
    local = now.astimezone(zone)
    if not in_quiet_hours(local, quiet):
        return None
    end = quiet[1]
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    resume = datetime.combine(day, time(end), tzinfo=zone)
    return resume.astimezone(now.tzinfo)
