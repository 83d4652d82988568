"""Validation of what the lead form asks: NIK, dates, phone numbers, names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import phonenumbers

from content import regions
from handlers.text import digits_only, fold_digits

_MONTHS = {
    "jan": 1, "januari": 1, "january": 1,
    "feb": 2, "februari": 2, "pebruari": 2, "february": 2,
    "mar": 3, "maret": 3, "march": 3,
    "apr": 4, "april": 4,
    "mei": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6,
    "jul": 7, "juli": 7, "july": 7,
    "agu": 8, "agt": 8, "ags": 8, "agus": 8, "agustus": 8, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9,
    "okt": 10, "oktober": 10, "oct": 10, "october": 10,
    "nov": 11, "nopember": 11, "november": 11,
    "des": 12, "desember": 12, "dec": 12, "december": 12,
}  # fmt: skip


class Invalid(ValueError):
    """A validation failure; `code` names the message template key shown to the worker."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class NikInfo:
    nik: str
    birth_day: int
    birth_month: int
    birth_year_2: int  # two digits: 19xx or 20xx is ambiguous
    female: bool
    prefix_known: bool  # the region part names a real kecamatan (a warning, not a refusal)


def parse_nik(text: str) -> NikInfo:
    digits = digits_only(text)
    # ASCII only: "⁰⁰³" passes str.isdigit, and a second spelling of one NIK would dodge the
    # duplicate check, which compares hashes of the digits.
    if not (digits.isascii() and digits.isdigit()):
        raise Invalid("nik_digits")
    if len(digits) != 16:
        raise Invalid("nik_length")
    day, month, year2 = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    female = day > 40
    if female:
        day -= 40
    if not _date_exists(day, month, year2):
        raise Invalid("nik_date")
    if digits[12:] == "0000":
        raise Invalid("nik_serial")
    return NikInfo(digits, day, month, year2, female, regions.nik_prefix_known(digits[:6]))


def _date_exists(day: int, month: int, year2: int) -> bool:
    # Either century may be the right one; 29 Feb needs a leap year in one of them.
    for century in (1900, 2000):
        try:
            date(century + year2, month, day)
            return True
        except ValueError:
            continue
    return False


def nik_matches_birth_date(info: NikInfo, born: date) -> bool:
    return (info.birth_day, info.birth_month, info.birth_year_2) == (born.day, born.month, born.year % 100)


def parse_date(text: str, today: date) -> date:
    """`17-08-1985`, `17/8/85`, `17 Agustus 1985`, `1985-08-17`. Raises Invalid("date_*")."""
    cleaned = fold_digits(text).strip().lower().replace(",", " ")
    numeric = re.fullmatch(r"(\d{1,4})[\s/.\-](\d{1,2})[\s/.\-](\d{2,4})", cleaned)
    if numeric:
        a, b, c = numeric.groups()
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        else:
            day, month, year = int(a), int(b), int(c)
            if len(c) == 2:
                year += 1900 if year > today.year % 100 else 2000
    else:
        worded = re.fullmatch(r"(\d{1,2})\s+([a-z]+)\.?\s+(\d{2,4})", cleaned)
        if not worded or worded.group(2) not in _MONTHS:
            raise Invalid("date_format")
        day, month, year = int(worded.group(1)), _MONTHS[worded.group(2)], int(worded.group(3))
        if year < 100:
            year += 1900 if year > today.year % 100 else 2000
    try:
        born = date(year, month, day)
    except ValueError:
        raise Invalid("date_not_real") from None
    if born >= today:
        raise Invalid("date_future")
    if today.year - born.year > 110:
        raise Invalid("date_too_old")
    return born


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def indonesian_digits(text: str) -> str:
    """The digits of a number, with Indonesia's country code in front: "0812-3456" -> "628123456",
    "+62 812" -> "62812", "812..." -> "62812...". For prefixes and links, where the number may
    be partial; `to_e164` checks a whole one."""
    digits = re.sub(r"\D", "", fold_digits(text))
    if digits.startswith("0"):
        return "62" + digits[1:]
    if digits.startswith("8"):
        return "62" + digits
    return digits


def to_e164(text: str) -> str | None:
    """An Indonesian mobile number in E.164 (`+6281234567890`) from 08..., 62..., +62..., or None."""
    raw = fold_digits(text).strip()
    digits = re.sub(r"[^\d+]", "", raw)
    if not digits or len(re.sub(r"\D", "", digits)) < 8:
        return None
    if digits.startswith("62"):
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, "ID")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_phone(text: str) -> str:
    """`to_e164`, for a worker's answer: a number that is not one is a message to them."""
    phone = to_e164(text)
    if phone is None:
        raise Invalid("phone_invalid")
    return phone


_NAME = re.compile(r"[^\W\d_]+(?:[ .'\-]+[^\W\d_]+)*\.?")


def parse_name(text: str) -> str:
    name = re.sub(r"\s+", " ", text).strip()
    if len(name) < 2 or len(name) > 100 or not _NAME.fullmatch(name):
        raise Invalid("name_invalid")
    return name.title() if name.islower() or name.isupper() else name
