from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from handlers.nlu.entities import parse_income, parse_money, parse_occupation, parse_programmes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,5 jt", 1_500_000),
        ("Rp 2.000.000", 2_000_000),
        ("dua juta", 2_000_000),
        ("1.5jt", 1_500_000),
        ("2jt", 2_000_000),
        ("500rb", 500_000),
        ("1,5 juta", 1_500_000),
        ("satu setengah juta", 1_500_000),
        ("setengah juta", 500_000),
        ("dua juta setengah", 2_500_000),
        ("sejuta", 1_000_000),
        ("Rp16.800", 16_800),
        ("16.800", 16_800),
        ("36800", 36_800),
        ("Rp. 1.500.000,00", 1_500_000),
        ("gaji 3 juta 500 ribu", 3_500_000),
        ("2 jt 500", 2_500_000),
        ("16 ribu 800", 16_800),
        ("enam belas ribu delapan ratus", 16_800),
        ("dua ratus lima puluh ribu", 250_000),
        ("penghasilan sy 2jtan sebulan", 2_000_000),
        ("50k", 50_000),
        ("rp 500", 500),
        ("sabulan kira2 sajuta", 1_000_000),
        ("umur 60", None),
        ("3 program", None),
        ("081234567890", None),
        ("3603123456780001", None),
        ("tahun 2026", None),
        ("halo", None),
        ("", None),
    ],
)
def test_parse_money(text: str, expected: int | None) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 program", 3),
        ("tiga program", 3),
        ("dengan JHT", 3),
        ("dgn jht", 3),
        ("plus jht", 3),
        ("+jht", 3),
        ("yg lengkap aja", 3),
        ("2 program", 2),
        ("dua program aja", 2),
        ("jkk jkm saja", 2),
        ("jkk dan jkm", 2),
        ("minimal", 2),
        ("yang paling murah", 2),
        ("tanpa jht", 2),
        ("ga usah pake jht", 2),
        ("iuran brp", None),
        ("", None),
    ],
)
def test_parse_programmes(text: str, expected: int | None) -> None:
    assert parse_programmes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sy ojol bisa ikut ga", "transport"),
        ("tukang ojek pangkalan", "transport"),
        ("abdi tukang ojeg", "transport"),
        ("buruh tani di lebak", "farmer"),
        ("nelayaan", "fisher"),
        ("sy jualan gorengan", "trader"),
        ("sy pedagag sayur", "trader"),
        ("kuli bangunan", "day_labourer"),
        ("tukang bangunan", "craft"),
        ("guru ngaji di masjid", "religious_social"),
        ("ibu rumah tangga", None),
        ("halo", None),
    ],
)
def test_parse_occupation(text: str, expected: str | None) -> None:
    assert parse_occupation(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text() | st.from_regex(r"(rp ?)?[0-9.,]{1,30} ?(jt|rb|juta|ribu|k)?( [a-z ]{0,20})?"))
# Found by this test on other machines' runs: kept so they fail every run if they come back.
@example("RP0.1")
@example("rp0")
@example("0,0 jt")
@example("-1 jt")
@example("0k")
@example("rp0,4 jt ")
@example("-0.5")
def test_parsers_never_raise(text: str) -> None:
    money = parse_money(text)
    assert money is None or (isinstance(money, int) and money > 0)
    assert parse_programmes(text) in (None, 2, 3)
    assert parse_occupation(text) is None or isinstance(parse_occupation(text), str)


@pytest.mark.parametrize(
    "text",
    ["RP0.1", "rp0", "Rp0,4", "0,0 jt", "0k", "-1 jt", "gaji -1 jt", "minus 1 juta", "rp -500.000", "\u22122 jt"],
)
def test_amounts_of_nothing_or_below_zero_are_not_money(text: str) -> None:
    assert parse_money(text) is None


@pytest.mark.parametrize(
    ("text", "expected"), [("1-2 jt", 2_000_000), ("penghasilan 2 - 3 juta", 3_000_000), ("0,1 rb", 100)]
)
def test_a_dash_between_numbers_is_a_range_not_a_minus(text: str, expected: int) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize(
    ("text", "monthly", "per"),
    [
        ("3 juta", 3_000_000, "month"),
        ("penghasilan 2 juta sebulan", 2_000_000, "month"),
        ("sehari 100rb", 2_600_000, "day"),
        ("100rb/hari", 2_600_000, "day"),
        ("100 ribu per hari", 2_600_000, "day"),
        ("harian 120rb", 3_120_000, "day"),
        ("I earn 150k a day", 3_900_000, "day"),
        ("seminggu 500rb", 2_000_000, "week"),
        ("600 ribu per minggu", 2_400_000, "week"),
        ("setahun 24 juta", 2_000_000, "year"),
        ("2jt 3 program", 2_000_000, "month"),
        ("dua juta tiga program", 2_000_000, "month"),
        ("2 juta 3", 2_300_000, "month"),
        ("gaji umr", None, None),
        ("ojol", None, None),
    ],
)
def test_parse_income_per_day_week_year(text: str, monthly: int | None, per: str | None) -> None:
    income = parse_income(text)
    assert (income.monthly if income else None, income.per if income else None) == (monthly, per)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bulan depan", (2027, 1)),
        ("januari 2027", (2027, 1)),
        ("bulan ini", (2026, 12)),
        ("april", (2027, 4)),
        ("tahun depan", (2027, 1)),
        ("next month", (2027, 1)),
        ("november 2026", None),  # past: not a month to price
    ],
)
def test_named_month(text: str, expected: tuple[int, int] | None) -> None:
    from datetime import date

    from handlers.due_dates import named_month

    month = named_month(text, date(2026, 12, 20))
    assert (None if month is None else (month.year, month.month)) == expected
