"""Numbers and dates the Indonesian way, through Babel: Rp16.800, 31 Desember 2026."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from babel.dates import format_date
from babel.numbers import format_decimal

_LOCALES = {"id": "id_ID", "en": "en_ID"}


def rupiah(amount: int | float, lang: str = "id") -> str:
    # Workers know amounts as "Rp16.800" in both languages; Rupiah have no minor unit in use.
    return _rupiah(round(amount))


@lru_cache(maxsize=1024)
def _rupiah(amount: int) -> str:
    # A few amounts (the contributions, the minimum) appear in most answers; Babel takes ~25 µs each.
    return "Rp" + format_decimal(amount, format="#,##0", locale="id_ID")


def number(value: int | float, lang: str = "id") -> str:
    return format_decimal(value, locale=_LOCALES.get(lang, "id_ID"))


@lru_cache(maxsize=512)  # a few dates (today, due days, relief ends) in most answers; Babel is slow
def long_date(day: date, lang: str = "id") -> str:
    return format_date(day, format="d MMMM y", locale=_LOCALES.get(lang, "id_ID"))


def juta(amount: int, lang: str = "id") -> str:
    """Rp42.000.000 -> 'Rp42 juta' ('Rp42 million'), the way people say large amounts."""
    millions = amount / 1_000_000
    shown = format_decimal(millions, format="#,##0.#", locale=_LOCALES.get(lang, "id_ID"))
    return f"Rp{shown} {'juta' if lang == 'id' else 'million'}"


@lru_cache(maxsize=256)
def month_year(day: date, lang: str = "id") -> str:
    """The contribution month as workers say it: 'Januari 2027' ('January 2027')."""
    return format_date(day, format="LLLL y", locale=_LOCALES.get(lang, "id_ID"))
