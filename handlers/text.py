"""Cleaning what a worker typed before anything reads it."""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 1000  # longer messages are read up to here; the rest is not needed to route them

_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()[:MAX_CHARS]


def keyword(text: str) -> str:
    """The text as a command word: lower case, no punctuation around it. "STOP!" -> "stop"."""
    return re.sub(r"[^\w ]+", "", text.lower()).strip()
