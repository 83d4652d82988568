"""Cleaning what a worker typed before anything reads it."""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 1000  # longer messages are read up to here; the rest is not needed to route them

_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# What may split the digits of one number as a worker types it: "3604 0157", "081.234.567.890",
# "3604/0157/...", "0812-3456". Invisible characters are gone before this is used.
SEPARATORS = " ./-"
_SEPARATOR = re.compile(f"[{re.escape(SEPARATORS)}]")


def fold_digits(text: str) -> str:
    """The text with every digit in ASCII and no invisible character: "３⁶0\u20604" -> "3604".

    NFKC turns fullwidth, superscript and circled digits into ASCII ones; any other character
    with a digit value (Ethiopic ፪, dingbat ➎ ❸, double-circled ⓹, Arabic-Indic ٣) becomes its
    ASCII digit. Everything that reads a number (redaction, NIK and phone checks, the money
    parser) reads this form, so no spelling of a number is seen differently by two of them.
    """
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif unicodedata.category(ch) == "Cf":
            # Format characters (U+200B, U+2060, U+FEFF, soft hyphen...) show nothing, yet split
            # a number for a regex.
            continue
        else:
            value = unicodedata.digit(ch, None)
            out.append(str(value) if value is not None else ch)
    return "".join(out)


def digits_only(text: str) -> str:
    """`fold_digits`, then the separators a number may be typed with dropped: "081.234 567" -> "081234567"."""
    return _SEPARATOR.sub("", re.sub(r"\s+", " ", fold_digits(text)))


def clean(text: str | None) -> str:
    if not text:
        return ""
    text = fold_digits(text)
    text = _CONTROL.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()[:MAX_CHARS]


def keyword(text: str) -> str:
    """The text as a command word: lower case, no punctuation around it. "STOP!" -> "stop"."""
    return re.sub(r"[^\w ]+", "", text.lower()).strip()
