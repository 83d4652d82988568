"""The monthly contribution for a declared income, with the PP 50/2025 relief when it applies,
and the benefits worked out from that income.

Prices belong to the month paid for (the contribution month), not to the day a message is
sent: a farmer's January 2027 contribution is the full amount even when it is paid in December
2026 (bpu-facts §11). Every function that prices takes that month as a date inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from content.facts import load_facts, relief_window
from handlers.due_dates import add_months


@dataclass(frozen=True, slots=True)
class Contribution:
    income: int
    programmes: int  # 2 = JKK + JKM, 3 = with JHT
    jkk: int
    jkm: int
    jht: int  # 0 when programmes == 2
    jkk_capped: bool

    @property
    def total(self) -> int:
        return self.jkk + self.jkm + self.jht


@dataclass(frozen=True, slots=True)
class Relief:
    """The amounts during the relief window, and when it ends."""

    jkk: int
    jkm: int
    jht: int
    ends: date
    transport: bool

    @property
    def total(self) -> int:
        return self.jkk + self.jkm + self.jht


@dataclass(frozen=True, slots=True)
class Quote:
    normal: Contribution
    relief: Relief | None  # None when the month is outside the worker's window
    month: date | None = None  # the first day of the contribution month
    # The next month whose price differs, and that price: what changes and when.
    changes: date | None = None
    changed_total: int | None = None

    @property
    def total(self) -> int:
        return self.relief.total if self.relief is not None else self.normal.total


@dataclass(frozen=True, slots=True)
class Prepay:
    months: int
    first: date
    last: date
    total: int
    discounted: int  # how many of the months are inside the relief window


@dataclass(frozen=True, slots=True)
class DeathByAccident:
    """What the heirs get when a work accident kills the worker (PP 82/2019 Lampiran III)."""

    income: int
    lump_sum: int  # death_multiplier x declared income
    periodic: int
    funeral: int

    @property
    def total(self) -> int:
        floor = int(load_facts()["benefits"]["jkm"]["total"]) if _jkk()["death_at_least_jkm"] else 0
        return max(self.lump_sum + self.periodic + self.funeral, floor)


class BelowMinimum(ValueError):
    def __init__(self, income: int, minimum: int) -> None:
        super().__init__(f"declared income {income} is below the minimum {minimum}")
        self.income = income
        self.minimum = minimum


def _percent(amount: int, percent: int | float) -> int:
    value = Decimal(amount) * Decimal(str(percent)) / Decimal(100)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _jkk() -> dict:  # type: ignore[type-arg]
    return load_facts()["benefits"]["jkk"]  # type: ignore[no-any-return]


def month_of(day: date) -> date:
    return day.replace(day=1)


def minimum_income() -> int:
    return int(load_facts()["contribution"]["minimum_income"])


def due_date(month: date) -> date:
    """The day a contribution month's payment is due (the 15th; a holiday moves it to the next
    working day, which the bot says in words since it keeps no holiday calendar)."""
    return month.replace(day=int(load_facts()["contribution"]["due_day"]))


def contribution(income: int, programmes: int = 2) -> Contribution:
    if programmes not in (2, 3):
        raise ValueError("programmes must be 2 (JKK+JKM) or 3 (JKK+JKM+JHT)")
    facts = load_facts()["contribution"]
    if income < facts["minimum_income"]:
        raise BelowMinimum(income, facts["minimum_income"])
    jkk = _percent(income, facts["jkk_rate_percent"])
    capped = jkk > facts["jkk_max"]
    jkk = min(max(jkk, facts["jkk_min"]), facts["jkk_max"])
    jht = _percent(income, facts["jht_rate_percent"]) if programmes == 3 else 0
    return Contribution(income, programmes, jkk, facts["jkm_flat"], jht, capped)


def relief_for(normal: Contribution, month: date, transport: bool | None) -> Relief | None:
    """The relieved amounts if the contribution month `month` is inside the window for the
    worker's sector.

    With the sector unknown (`None`), the window of non-transport workers is used, the shorter one,
    so the bot never promises relief a worker does not get; answers that can differ by sector
    show both (see `by_sector`).
    """
    window = relief_window(bool(transport))
    if not window.covers(month):
        return None
    relief = load_facts()["relief"]
    keep = 100 - relief["percent_off"]
    return Relief(
        jkk=_percent(normal.jkk, keep),
        jkm=_percent(normal.jkm, keep),
        jht=normal.jht,  # JHT is not reduced
        ends=window.end,
        transport=bool(transport),
    )


def _price(normal: Contribution, month: date, transport: bool | None) -> int:
    relief = relief_for(normal, month, transport)
    return relief.total if relief is not None else normal.total


def _next_change(normal: Contribution, month: date, transport: bool | None) -> tuple[date, int] | None:
    """The first later month priced differently: the relief starts or ends (windows are whole months)."""
    window = relief_window(bool(transport))
    for boundary in (window.start, add_months_date(month_of(window.end), 1)):
        if boundary > month:
            price = _price(normal, boundary, transport)
            if price != _price(normal, month, transport):
                return boundary, price
    return None


def add_months_date(month: date, n: int) -> date:
    year, mon = add_months(month.year, month.month, n)
    return date(year, mon, 1)


def quote(income: int, programmes: int, month: date, transport: bool | None) -> Quote:
    """The price of the contribution month containing `month` for a worker of that sector."""
    normal = contribution(income, programmes)
    first = month_of(month)
    change = _next_change(normal, first, transport)
    return Quote(
        normal,
        relief_for(normal, first, transport),
        first,
        change[0] if change else None,
        change[1] if change else None,
    )


def by_sector(income: int, programmes: int, month: date) -> tuple[Quote, Quote] | None:
    """(transport, others) when the month's price differs by sector; None when it is the same."""
    transport = quote(income, programmes, month, True)
    others = quote(income, programmes, month, False)
    if (transport.total, transport.changes) == (others.total, others.changes):
        return None
    return transport, others


def prepay(income: int, programmes: int, first: date, months: int, transport: bool | None) -> Prepay:
    """Paying `months` months at once from the month `first`: only the months inside the relief
    window are discounted (bpu-facts §11)."""
    normal = contribution(income, programmes)
    start = month_of(first)
    each = [add_months_date(start, n) for n in range(months)]
    prices = [_price(normal, m, transport) for m in each]
    discounted = sum(1 for p in prices if p != normal.total)
    return Prepay(months, start, each[-1], sum(prices), discounted)


def prepay_options() -> tuple[int, ...]:
    return tuple(int(m) for m in load_facts()["contribution"]["prepay_months"])


def death_by_accident(income: int) -> DeathByAccident:
    jkk = _jkk()
    base = max(income, minimum_income())
    return DeathByAccident(base, base * int(jkk["death_multiplier"]), int(jkk["death_periodic"]),
                           int(jkk["death_funeral"]))  # fmt: skip


def total_disability(income: int) -> int:
    return max(income, minimum_income()) * int(_jkk()["disability_multiplier"])
