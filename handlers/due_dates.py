"""When a monthly contribution falls due, and the zone a worker's dates are in.

Pure date logic, shared by the conversation (handlers/reminders.py: "ingatkan saya", "sudah
bayar") and the delivery side (bot/delivery/reminders.py: the periodic tick).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from content.regions import timezone_for

BEFORE, DUE = "before", "due"


def due_in(year: int, month: int, day: int) -> date:
    """The due date in a month: the day, or the month's last day when it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


@dataclass(frozen=True, slots=True)
class Fire:
    at: datetime  # UTC
    stage: str
    due: date


def fires_from(local_day: date, day: int, days_before: int) -> list[tuple[date, str, date]]:
    """(fire date, stage, due date) for the due dates from the month before `local_day` on, in order."""
    out = []
    for n in range(-1, 3):
        y, m = add_months(local_day.year, local_day.month, n)
        due = due_in(y, m, day)
        if days_before > 0:
            out.append((due - timedelta(days=days_before), BEFORE, due))
        out.append((due, DUE, due))
    return sorted(out)


def next_fire(after: datetime, day: int, zone: ZoneInfo, days_before: int, hour: int) -> Fire:
    """The first reminder strictly after the instant `after`."""
    local_day = after.astimezone(zone).date()
    for fire_day, stage, due in fires_from(local_day, day, days_before):
        at = datetime.combine(fire_day, time(hour), tzinfo=zone).astimezone(UTC)
        if at > after:
            return Fire(at, stage, due)
    raise AssertionError("a month always has a due date")


def payment_period(today: date, day: int, days_before: int) -> str:
    """The month a "sudah bayar" said today is for: the month that is due next. That is the
    coming due date's month when its reminders have started (within `days_before` days, which
    may be next month's), else this month: paid early on 1 December for the 10th is December, so
    the reminder of 7 December does not go out; paid on the 12th for the 10th is December too,
    a few days late."""
    for n in (0, 1):
        y, m = add_months(today.year, today.month, n)
        due = due_in(y, m, day)
        if due >= today:
            if (due - today).days <= days_before:
                return due.strftime("%Y-%m")
            break
    return today.strftime("%Y-%m")


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


# ---------------------------------------------------------------- the month a question names

_MONTHS = {
    1: ("januari", "january", "jan"), 2: ("februari", "pebruari", "february", "feb"),
    3: ("maret", "march", "mar"), 4: ("april", "apr"), 5: ("mei", "may"), 6: ("juni", "june", "jun"),
    7: ("juli", "july", "jul"), 8: ("agustus", "august", "agu", "agt", "aug"),
    9: ("september", "sept", "sep"), 10: ("oktober", "october", "okt", "oct"),
    11: ("november", "nopember", "nov"), 12: ("desember", "december", "des", "dec"),
}  # fmt: skip
_MONTH_WORD = {word: month for month, words in _MONTHS.items() for word in words}
# "may" and "mar" are also everyday words: they name a month only beside a year.
_NEEDS_YEAR = frozenset({"may", "mar", "jun", "jul", "sep"})
_MONTH_YEAR = re.compile(r"\b([a-z]+)\s+(20\d\d)\b")
_YEAR = re.compile(r"\b(20\d\d)\b")
_NEXT_MONTH = re.compile(r"\b(bulan depan|next month)\b")
_THIS_MONTH = re.compile(r"\b(bulan ini|this month)\b")
_NEXT_YEAR = re.compile(r"\b(tahun depan|next year)\b")


def named_month(text: str, today: date) -> date | None:
    """The first day of the contribution month a question names, or None when it names none.

    `text` is normalised (lower case, slang resolved). "bulan depan", "januari 2027", "april"
    (the next April from today), "tahun depan" and "2027" (January of that year, the first month
    priced differently in a new year), "bulan ini". A past month is not a month to price.
    """
    this = today.replace(day=1)
    if _THIS_MONTH.search(text):
        return this
    if _NEXT_MONTH.search(text):
        return date(*add_months(today.year, today.month, 1), 1)
    for word, year in _MONTH_YEAR.findall(text):
        if word in _MONTH_WORD:
            named = date(int(year), _MONTH_WORD[word], 1)
            return named if named >= this else None
    for word in text.split():
        if word in _MONTH_WORD and word not in _NEEDS_YEAR:
            month = _MONTH_WORD[word]
            return date(today.year + (month < today.month), month, 1)
    if _NEXT_YEAR.search(text):
        return date(today.year + 1, 1, 1)
    year = _YEAR.search(text)
    if year:
        named_year = int(year.group(1))
        if named_year == today.year:
            return this
        return date(named_year, 1, 1) if named_year > today.year else None
    return None
