"""Times as a person types and reads them: in the branch's zone (BPU_TIMEZONE), with its abbreviation.

Storage keeps aware UTC (storage/clock.py); the CLI, the dashboard and the exports go through
these two functions, so "23:30" typed in Serang is 16:30 UTC and is shown again as "23:30 WIB".
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from storage.clock import as_utc

TYPED = "%Y-%m-%d %H:%M"
SHOWN = "%Y-%m-%d %H:%M %Z"


def parse_local(text: str, zone: tzinfo) -> datetime:
    """ "2026-12-01 23:30" (or the browser's "2026-12-01T23:30") in `zone`, as an aware UTC instant.

    Raises ValueError for anything else."""
    local = datetime.strptime(text.strip().replace("T", " ", 1), TYPED)  # noqa: DTZ007  # the zone follows
    return as_utc(local.replace(tzinfo=zone))


def show_local(value: datetime | None, zone: tzinfo, fmt: str = SHOWN) -> str:
    """A stored instant in `zone`, e.g. "2026-12-01 23:30 WIB"; "" for none."""
    if value is None:
        return ""
    return as_utc(value).astimezone(zone).strftime(fmt)
