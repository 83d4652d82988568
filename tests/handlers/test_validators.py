import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.validators import (
    Invalid,
    nik_matches_birth_date,
    parse_date,
    parse_name,
    parse_nik,
    parse_phone,
)

TODAY = date(2026, 11, 25)


def test_nik_of_a_woman_has_day_plus_forty() -> None:
    info = parse_nik("3673015508900001")
    assert info.female and (info.birth_day, info.birth_month, info.birth_year_2) == (15, 8, 90)
    assert nik_matches_birth_date(info, date(1990, 8, 15))
    assert not nik_matches_birth_date(info, date(1990, 8, 16))


@pytest.mark.parametrize(
    ("nik", "code"),
    [
        ("367301550890001", "nik_length"),
        ("36730155089000011", "nik_length"),
        ("3673O15508900001", "nik_digits"),
        ("3673013102900001", "nik_date"),  # 31 February
        ("3673017208900001", "nik_date"),  # day 72 = 32 for a woman
        ("3673011508900000", "nik_serial"),
    ],
)
def test_bad_niks(nik: str, code: str) -> None:
    with pytest.raises(Invalid) as info:
        parse_nik(nik)
    assert info.value.code == code


def test_nik_with_spaces_and_an_unknown_region_is_accepted_with_a_flag() -> None:
    assert parse_nik("3673 0115 0890 0001").prefix_known
    assert not parse_nik("9999011508900001").prefix_known


@given(st.text(max_size=40))
def test_parse_nik_never_raises_anything_but_invalid(text: str) -> None:
    with contextlib.suppress(Invalid):
        parse_nik(text)


@given(st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31)), st.booleans())
def test_every_real_birth_date_makes_a_valid_nik(born: date, female: bool) -> None:
    day = born.day + (40 if female else 0)
    info = parse_nik(f"367301{day:02d}{born.month:02d}{born.year % 100:02d}0001")
    assert nik_matches_birth_date(info, born) and info.female == female


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("081234567890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
    ],
)
def test_phone_numbers_in_e164(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize("text", ["12345", "0812", "halo", "", "+1 202 555 01"])
def test_bad_phone_numbers(text: str) -> None:
    with pytest.raises(Invalid):
        parse_phone(text)


@given(st.text(max_size=30))
def test_parse_phone_never_raises_anything_but_invalid(text: str) -> None:
    with contextlib.suppress(Invalid):
        assert parse_phone(text).startswith("+")


@given(st.from_regex(r"08[1-9][0-9]{8,9}", fullmatch=True))
def test_indonesian_mobiles_round_trip(number: str) -> None:
    try:
        e164 = parse_phone(number)
    except Invalid:
        return  # not every prefix is allocated
    assert e164 == "+62" + number[1:]
    assert parse_phone(e164) == e164


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17-08-1985", date(1985, 8, 17)),
        ("17/8/85", date(1985, 8, 17)),
        ("17 Agustus 1985", date(1985, 8, 17)),
        ("1985-08-17", date(1985, 8, 17)),
        ("5 mei 01", date(2001, 5, 5)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("31-02-1990", "date_not_real"),
        ("kemarin", "date_format"),
        ("01-01-2030", "date_future"),
        ("1-1-1800", "date_too_old"),
    ],
)
def test_bad_dates(text: str, code: str) -> None:
    with pytest.raises(Invalid) as info:
        parse_date(text, TODAY)
    assert info.value.code == code


@given(st.text(max_size=30))
def test_parse_date_never_raises_anything_but_invalid(text: str) -> None:
    with contextlib.suppress(Invalid):
        parse_date(text, TODAY)


def test_names() -> None:
    assert parse_name("siti aminah") == "Siti Aminah"
    assert parse_name("Muh. Rizky Al-Farisi") == "Muh. Rizky Al-Farisi"
    for bad in ("iurannya berapa sih?", "08123", "{{ 7*7 }}", "a"):
        with pytest.raises(Invalid):
            parse_name(bad)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [("0812-3456-7890", "+6281234567890"), ("+62 812 3456 7890", "+6281234567890"), ("6281234567890", "+6281234567890"),
     ("０８１２３４５６７８９０", "+6281234567890"), ("0812", None), ("hello", None), ("", None), ("0212345", None)],
)  # fmt: skip
def test_to_e164_is_the_one_phone_rule(typed: str, e164: str | None) -> None:
    from handlers.validators import to_e164

    assert to_e164(typed) == e164


@pytest.mark.parametrize(("typed", "digits"), [("0812", "62812"), ("812-34", "6281234"), ("+62 812", "62812"),
                                               ("62812", "62812"), ("", "")])  # fmt: skip
def test_indonesian_digits_for_prefixes_and_links(typed: str, digits: str) -> None:
    from handlers.validators import indonesian_digits

    assert indonesian_digits(typed) == digits
