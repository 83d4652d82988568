"""Masking of personal numbers in free text before it is stored, logged or echoed.

A worker may paste a NIK, a phone number, an email or a bank account number into
any message. Those never reach a log or a table in clear (UU 27/2022), however they
are spelled: digits are read in the one folded form of `handlers.text.fold_digits`
(fullwidth, superscript or Ethiopic digits, invisible characters between them), and a
number may be split by any of `handlers.text.SEPARATORS` ("3.604.015.708.900.003",
"3604/0157/0890/0003", "081.234.567.890").
"""

from __future__ import annotations

import re

from handlers.text import SEPARATORS, fold_digits

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_AMOUNT = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")
# A run of digits, possibly broken by separators, optionally led by +.
_DIGIT_RUN = re.compile(rf"\+?\d(?:[\d\t{re.escape(SEPARATORS)}]{{0,60}}\d)?")
_IDENTIFIER_DIGITS = 10  # no worker earns or pays Rp1.000.000.000; ten digits or more name someone
_PHONE_DIGITS = 8


def is_identifier(digits: str) -> bool:
    """Whether a number of these digits is a NIK, a phone or an account number, never an amount.

    Ten digits or more is too much money for anyone the bot talks to; eight or more led by a 0
    is a phone number ("0812 3456"); both hold however the digits are grouped, so
    "3.604.015.708.900.003" is a NIK even though it is dotted like "15.000.000".
    """
    return len(digits) >= _IDENTIFIER_DIGITS or (len(digits) >= _PHONE_DIGITS and digits.startswith("0"))


def mask_nik(nik: str) -> str:
    """`3673015501900001` -> `3673**********01`: region kept for routing, the rest hidden."""
    digits = re.sub(r"\D", "", fold_digits(nik))
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", fold_digits(phone))
    if len(digits) < 6:
        return "*" * len(digits)
    return ("+" if phone.strip().startswith("+") else "") + digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def _masked(run: str) -> str | None:
    """The mask for a run of digits that names someone; None for an amount, date or count."""
    digits = re.sub(r"\D", "", run)
    if not is_identifier(digits):
        if _AMOUNT.fullmatch(run.strip()):
            return None  # "15.000.000" is money, not an identifier
        # Short numbers are amounts, dates, counts ("2 juta", "2026", "175"): keep them.
        # Eight digits or more is an account number or a phone without its 0: mask it.
        if len(digits) < _PHONE_DIGITS:
            return None
    if len(digits) == 16:
        return mask_nik(digits)
    return mask_phone(run)


def redact(text: str) -> str:
    """Return `text` with emails and long digit runs (NIK, phone, account) masked."""
    text = _EMAIL.sub(lambda m: m.group(0)[0] + "***@***", fold_digits(text))
    return _DIGIT_RUN.sub(lambda m: _masked(m.group(0)) or m.group(0), text)


def without_identifiers(text: str) -> str:
    """`text` (already folded) with every NIK, phone or account number blanked, for readers of
    amounts: "3.604.015.708.900.003" must never become "Rp3.604.015.708.900.003"."""

    def blank(match: re.Match[str]) -> str:
        return " " if is_identifier(re.sub(r"\D", "", match.group(0))) else match.group(0)

    return _DIGIT_RUN.sub(blank, text)
