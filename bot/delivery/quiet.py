"""Quiet hours (BPU_QUIET_HOURS, e.g. `21-7`) in the contact's own zone: WIB, WITA or WIT by region."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


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
