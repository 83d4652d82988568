"""The monthly contribution for a declared income, with the PP 50/2025 relief when it applies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from content.facts import load_facts, relief_window


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
    relief: Relief | None  # None when today is outside the worker's window


class BelowMinimum(ValueError):
    def __init__(self, income: int, minimum: int) -> None:
        super().__init__(f"declared income {income} is below the minimum {minimum}")
        self.income = income
        self.minimum = minimum


def _percent(amount: int, percent: int | float) -> int:
    value = Decimal(amount) * Decimal(str(percent)) / Decimal(100)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def minimum_income() -> int:
    return int(load_facts()["contribution"]["minimum_income"])


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


def relief_for(normal: Contribution, today: date, transport: bool | None) -> Relief | None:
    """The relieved amounts if `today` is inside the window for the worker's sector.

    With the sector unknown (`None`), the window of non-transport workers is used, the shorter one,
    so the bot never promises relief a worker does not get.
    """
    window = relief_window(bool(transport))
    if not window.covers(today):
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


def quote(income: int, programmes: int, today: date, transport: bool | None) -> Quote:
    normal = contribution(income, programmes)
    return Quote(normal, relief_for(normal, today, transport))
