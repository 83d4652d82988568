"""Masking of personal numbers in free text before it is stored, logged or echoed.

A worker may paste a NIK, a phone number, an email or a bank account number into
any message. Those never reach a log or a table in clear (UU 27/2022).
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits, possibly broken by spaces, dots or dashes, optionally led by +.
_AMOUNT = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")
_DIGIT_RUN = re.compile(r"\+?\d(?:[\d .\-]{0,30}\d)?")


def mask_nik(nik: str) -> str:
    """`3673015501900001` -> `3673**********01`: region kept for routing, the rest hidden."""
    digits = re.sub(r"\D", "", nik)
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 6:
        return "*" * len(digits)
    return ("+" if phone.strip().startswith("+") else "") + digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if _AMOUNT.fullmatch(run.strip()):
        return run  # "15.000.000" is money, not an identifier
    digits = re.sub(r"\D", "", run)
    # Short numbers are amounts, dates, counts ("2 juta", "2026", "175"): keep them.
    # Eight digits or more is a NIK, a phone or an account number: mask it.
    if len(digits) < 8:
        return run
    if len(digits) == 16:
        return mask_nik(digits)
    return mask_phone(run)


def redact(text: str) -> str:
    """Return `text` with emails and long digit runs (NIK, phone, account) masked."""
    text = _EMAIL.sub(lambda m: m.group(0)[0] + "***@***", text)
    return _DIGIT_RUN.sub(_mask_run, text)
