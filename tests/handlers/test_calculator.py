from datetime import date

import pytest

from handlers import calculator

OUTSIDE = date(2028, 1, 10)  # after every PP 50/2025 window
INSIDE = date(2026, 6, 1)  # inside both windows


@pytest.mark.parametrize(
    ("income", "programmes", "total"),
    [(1_000_000, 2, 16_800), (1_000_000, 3, 36_800), (2_000_000, 2, 26_800), (1_500_000, 3, 51_800)],
)
def test_normal_amounts_outside_any_relief(income: int, programmes: int, total: int) -> None:
    q = calculator.quote(income, programmes, OUTSIDE, transport=False)
    assert q.normal.total == total
    assert q.relief is None


def test_trader_at_one_million_inside_the_window() -> None:
    assert calculator.quote(1_000_000, 2, INSIDE, transport=False).relief.total == 8_400  # type: ignore[union-attr]
    three = calculator.quote(1_000_000, 3, INSIDE, transport=False).relief
    assert three is not None and three.total == 28_400 and three.jht == 20_000  # JHT is not reduced


def test_windows_differ_by_sector() -> None:
    # January 2027: the transport window (to March 2027) still runs, the other one ended in December.
    day = date(2027, 1, 15)
    assert calculator.quote(1_000_000, 2, day, transport=True).relief is not None
    assert calculator.quote(1_000_000, 2, day, transport=False).relief is None
    # March 2026: only transport workers had relief yet (others from April).
    assert calculator.quote(1_000_000, 2, date(2026, 3, 31), transport=None).relief is None
    ends = calculator.quote(1_000_000, 2, date(2026, 3, 31), transport=True).relief
    assert ends is not None and ends.ends == date(2027, 3, 31)


def test_last_day_of_window_is_inside() -> None:
    assert calculator.quote(1_000_000, 2, date(2026, 12, 31), transport=False).relief is not None
    assert calculator.quote(1_000_000, 2, date(2027, 1, 1), transport=False).relief is None


def test_below_minimum_is_refused_with_the_minimum() -> None:
    with pytest.raises(calculator.BelowMinimum) as info:
        calculator.contribution(900_000)
    assert info.value.minimum == 1_000_000


def test_jkk_is_capped_at_its_maximum() -> None:
    high = calculator.contribution(50_000_000, 2)
    assert high.jkk == 207_000 and high.jkk_capped


def test_odd_incomes_round_to_whole_rupiah() -> None:
    c = calculator.contribution(1_234_567, 3)
    assert (c.jkk, c.jht) == (12_346, 24_691)
