"""What the handlers need out of a message: an amount of money, the number of programmes, the occupation.

Each parser returns None when the message does not say it clearly; the handler then asks. None of
them raises, whatever the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import TypeVar

from rapidfuzz import fuzz, process

from handlers.nlu.normalize import MAX_CHARS, default_normalizer
from handlers.nlu.resources import CONTENT_DIR, LEXICON_DIR, load_numbers, read_yaml
from handlers.redact import without_identifiers
from handlers.text import fold_digits

SHORT = 40  # characters: messages this short repeat across workers ("sy ojol", "2 juta", "halo")


T = TypeVar("T")


def _remember_short(parse: Callable[[str], T]) -> Callable[[str], T]:
    """Keep the answers for the last 4,096 short messages; long ones rarely repeat and may be personal."""
    remembered = lru_cache(maxsize=4096)(parse)

    @wraps(parse)
    def parse_text(text: str) -> T:
        return remembered(text) if isinstance(text, str) and len(text) <= SHORT else parse(text)

    return parse_text


# ---------------------------------------------------------------- money

_MONEY_TOKEN = re.compile(r"\d[\d.,]{0,24}|[^\W\d_]+")
_REDUPLICATION = re.compile(r"\b(?!rp2|idr2)([^\W\d_]{2,})2\b")  # "kira2" is "kira-kira", not a 2
_CURRENCY = frozenset({"rp", "idr", "rupiah", "perak"})
# A minus sign before a number makes it negative, which no income or contribution is; a dash
# after a number ("1-2 jt", "2 - 3 juta") is a range, and stays one.
_NEGATIVE_SIGN = re.compile(r"(?<!\d)(?<!\d\s)[-\u2212\u2013]\s*(?=\d)")
_MINUS = "minus"
_HALF = "setengah"
_YEARS = range(1900, 2101)
_MAX_BARE_DIGITS = 9  # a longer bare number is a phone number or a NIK, not an amount


@lru_cache(maxsize=1)
def _number_words() -> dict[str, dict[str, int]]:
    return load_numbers()


def _digits_value(token: str) -> float | None:
    """ "2.000.000" -> 2000000, "1,5" -> 1.5, "16.800" -> 16800; None when the separators make no sense."""
    groups = re.split(r"[.,]", token.strip(".,"))
    if len(groups) == 1:
        return float(groups[0])
    if not 1 <= len(groups[0]) <= 3:
        return None
    if all(len(g) == 3 for g in groups[1:]):
        return float("".join(groups))
    if len(groups[-1]) <= 2 and all(len(g) == 3 for g in groups[1:-1]):
        return float("".join(groups[:-1]) + "." + groups[-1])
    return None


def _unit(word: str, units: dict[str, int]) -> int | None:
    # "jutaan", "2jtan", "500rban": about that much
    return units.get(word) or (units.get(word[:-2]) if word.endswith("an") else None)


@dataclass
class _Amount:
    total: float = 0.0
    group: float = 0.0  # the part below the next unit ("dua ratus" in "dua ratus ribu")
    digit: float | None = None
    last_unit: int | None = None
    numbers_seen: int = 0
    bare: str | None = None  # the digit token, when the amount is one number without a unit

    def value(self) -> float:
        return self.total + self.group + (self.digit or 0.0)


def _amount_at(tokens: Sequence[str], start: int) -> int | None:
    words = _number_words()
    numbers, scales, units = words["numbers"], words["scales"], words["units"]
    currency = tokens[start] in _CURRENCY
    a = _Amount()
    j = start + 1 if currency else start
    while j < len(tokens):
        token = tokens[j]
        unit = _unit(token, units)
        if a.last_unit and j + 1 < len(tokens) and tokens[j + 1] in _counted():
            break  # "2jt 3 program", "dua juta tiga program": the 3 counts programmes
        if token[0].isdigit():
            value = _digits_value(token)
            if value is None or a.digit is not None:
                break
            nxt = tokens[j + 1] if j + 1 < len(tokens) else ""
            if a.last_unit and value < 1000 and not _unit(nxt, units):
                # "2 jt 500" is 2.500.000, "16 ribu 800" is 16.800; one digit is a tenth: "2 jt 3" is 2,3 jt
                a.total += value * a.last_unit / (10 if value < 10 and "." not in token and "," not in token else 1000)
                j += 1
                break
            a.digit, a.bare = value, token if not a.numbers_seen else None
            a.numbers_seen += 1
        elif token in numbers and numbers[token] >= 1000:  # "sejuta", "seribu"
            a.total += (a.group + (a.digit or 0.0) or 1.0) * numbers[token]
            a.group, a.digit, a.last_unit = 0.0, None, numbers[token]
            a.numbers_seen += 1
        elif token in numbers:
            if numbers[token] < 10 and a.digit is not None:
                break
            if numbers[token] < 10:
                a.digit = float(numbers[token])
            else:
                a.group += numbers[token]
            a.numbers_seen += 1
        elif token in scales and a.numbers_seen:
            # "dua belas" is 2 + 10; "dua puluh", "dua ratus" multiply
            base = a.digit if a.digit is not None else 1.0
            a.group += base + scales[token] if token == "belas" else base * scales[token]
            a.digit = None
        elif unit and a.numbers_seen:
            if a.last_unit is not None and unit >= a.last_unit:
                break
            a.total += (a.group + (a.digit or 0.0)) * unit
            a.group, a.digit, a.last_unit, a.bare = 0.0, None, unit, None
        elif token == _HALF:
            if a.last_unit and a.digit is None and not a.group:
                a.total += a.last_unit / 2  # "dua juta setengah"
            else:
                a.group += 0.5  # "satu setengah juta", "setengah juta"
                a.numbers_seen += 1
        else:
            currency = currency or token in _CURRENCY
            break
        j += 1
    if not a.numbers_seen or a.value() <= 0:
        return None
    if a.last_unit is None and not currency and not _plain_amount(a.bare, a.value()):
        return None
    amount = round(a.value())
    return amount if amount >= 1 else None  # "Rp0,4" rounds to nothing: not an amount


def _plain_amount(token: str | None, value: float) -> bool:
    """A number without "rp" or a unit is money only when it looks like it: "16.800", "36800"."""
    if token is None or value < 1000:
        return False
    if re.fullmatch(r"\d+", token):
        return not token.startswith("0") and len(token) <= _MAX_BARE_DIGITS and int(token) not in _YEARS
    return value == int(value)


@_remember_short
def parse_money(text: str) -> int | None:
    """The first amount of rupiah in `text`: "1,5 jt", "Rp 2.000.000", "dua juta", "500rb" -> int."""
    if not isinstance(text, str):
        return None
    # A NIK or a phone is never an amount, however it is grouped ("3.604.015.708.900.003").
    plain = without_identifiers(fold_digits(text[:MAX_CHARS])).casefold()
    plain = _NEGATIVE_SIGN.sub(f" {_MINUS} ", plain)
    tokens = _MONEY_TOKEN.findall(_REDUPLICATION.sub(r"\1 \1", plain))
    for start in range(len(tokens)):
        if start and tokens[start - 1] == _MINUS:
            continue  # "-1 jt", "minus 1 juta": not an amount anyone earns or pays
        amount = _amount_at(tokens, start)
        if amount is not None:
            return amount
    return None


@lru_cache(maxsize=1)
def _counted() -> frozenset[str]:
    return frozenset(str(w).casefold() for w in read_yaml(LEXICON_DIR / "numbers.yaml").get("counted") or ())


@dataclass(frozen=True)
class Income:
    """An income as the worker said it and as a month of it: "sehari 100rb" is 100.000 a day, 2.600.000 a month."""

    monthly: int
    amount: int
    per: str = "month"  # "day", "week", "year" or "month"
    times: int = 1  # days or weeks in a month, as the bot counted them
    divide: int = 1  # months in a year


@lru_cache(maxsize=1)
def _periods() -> tuple[tuple[str, re.Pattern[str], int, int], ...]:
    raw = read_yaml(LEXICON_DIR / "numbers.yaml").get("periods") or {}
    out = []
    for name, spec in raw.items():
        words = sorted((str(w).casefold() for w in spec["words"]), key=len, reverse=True)
        pattern = re.compile(r"(?:^|(?<=[\s\d]))(?:" + "|".join(re.escape(w) for w in words) + r")(?=$|[\s.,!?])")
        out.append((str(name), pattern, int(spec.get("times", 1)), int(spec.get("divide", 1))))
    return tuple(out)


def parse_income(text: str) -> Income | None:
    """The income a message gives, turned into a monthly one when it is per day, week or year."""
    amount = parse_money(text)
    if amount is None:
        return None
    lowered = re.sub(r"\s*/\s*", " /", " ".join(fold_digits(text[:MAX_CHARS]).casefold().split()))
    for name, pattern, times, divide in _periods():
        if pattern.search(lowered):
            return Income(monthly=amount * times // divide, amount=amount, per=name, times=times, divide=divide)
    return Income(monthly=amount, amount=amount)


# ---------------------------------------------------------------- programmes

_TWO, _THREE = 2, 3
_COUNT_NOUNS = r"(?:program|programnya|prog|jaminan|manfaat|paket|perlindungan)"
_NEGATED_JHT = re.compile(r"\b(?:tanpa|tidak|jangan|bukan|kecuali|minus|belum)\b(?:\s+\w+){0,2}\s+jht\b")
_ALL = re.compile(r"\b(?:semua|semuanya|lengkap|komplit|full|sekalian semua)\b")
_MINIMUM = re.compile(r"\b(?:minimal|minimum|termurah|paling murah|dasar|yang wajib|wajib saja|wajibnya)\b")


@_remember_short
def parse_programmes(text: str) -> int | None:
    """2 (JKK + JKM) or 3 (with JHT) when the message says which: "3 program", "plus jht", "jkk jkm saja"."""
    if not isinstance(text, str):
        return None
    norm = default_normalizer()(text)
    numbers = _number_words()["numbers"]
    for match in re.finditer(rf"\b(\w+)\s+{_COUNT_NOUNS}\b", norm):
        word = match.group(1)
        count = int(word) if word.isdigit() and len(word) < 3 else numbers.get(word)
        if count in (_TWO, _THREE):
            return count
    words = set(norm.split())
    if _NEGATED_JHT.search(norm):
        return _TWO
    if "jht" in words or _ALL.search(norm):
        return _THREE
    if {"jkk", "jkm"} <= words or _MINIMUM.search(norm):
        return _TWO
    return None


# ---------------------------------------------------------------- occupation

_FUZZY_MIN_LENGTH = 5
_FUZZY_CUTOFF = 85.0
# Words that name a kind of worker only until a more specific one follows: "tukang ojek" is transport.
_GENERIC = frozenset({"tukang", "buruh", "pekerja"})


OCCUPATIONS = CONTENT_DIR / "occupations.yaml"


@lru_cache(maxsize=1)
def _occupation_phrases() -> tuple[tuple[tuple[str, ...], str], ...]:
    """(normalised words of a phrase, category key), longest phrases first."""
    normalizer = default_normalizer()
    phrases = {
        tuple(normalizer.tokens(str(word))): str(category["key"])
        for category in read_yaml(OCCUPATIONS)
        for word in category.get("words") or ()
    }
    return tuple(sorted(((p, k) for p, k in phrases.items() if p), key=lambda pk: -len(pk[0])))


@lru_cache(maxsize=1)
def _occupation_index() -> tuple[dict[tuple[str, ...], str], tuple[int, ...], tuple[str, ...], tuple[str, ...]]:
    """The phrases by their words, their lengths (longest first), and the single long words a typo
    may be forgiven in with their keys, in the phrases' order."""
    phrases = _occupation_phrases()
    lengths = tuple(sorted({len(phrase) for phrase, _ in phrases}, reverse=True))
    fuzzy = [(p[0], key) for p, key in phrases if len(p) == 1 and len(p[0]) >= _FUZZY_MIN_LENGTH]
    return dict(phrases), lengths, tuple(w for w, _ in fuzzy), tuple(k for _, k in fuzzy)


@_remember_short
def parse_occupation(text: str) -> str | None:
    """The occupation category key (content/occupations.yaml) a message names: "sy ojol" -> "transport"."""
    if not isinstance(text, str):
        return None
    tokens = default_normalizer().tokens(text)
    by_words, lengths, words, keys = _occupation_index()
    # Ranked by: longest phrase, then specific before generic, then earliest. Each stretch of the
    # message is looked up, not each phrase searched for: a message has far fewer stretches.
    for n in lengths:  # longest first: a match of this length beats any shorter one
        best: tuple[bool, int, str] | None = None
        for i in range(len(tokens) - n + 1):
            key = by_words.get(tuple(tokens[i : i + n]))
            if key is not None:
                rank = (n == 1 and tokens[i] in _GENERIC, i, key)
                if best is None or rank < best:
                    best = rank
        if best is not None:
            return best[2]
    # Typos only for single long words: "nelayaan", "pedagag", "petanni"
    for token in tokens:
        if len(token) < _FUZZY_MIN_LENGTH:
            continue
        close = process.extract(token, words, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF, limit=None)
        if close:
            return keys[min(index for _, _, index in close)]  # the first such word, in the phrases' order
    return None
