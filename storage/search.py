"""Names as a search finds them: accents dropped, lower case, split in words ("Enéng Sri-Rahayu"
-> ["eneng", "sri", "rahayu"]). Migration 0009 keeps its own frozen copy of this rule."""

from __future__ import annotations

import re
import unicodedata

WORD_CHARS = 40  # LeadNameWord.word's length
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", plain.lower()).strip()


def name_words(name: str) -> list[str]:
    """The distinct words of a name, folded, each cut to WORD_CHARS."""
    return sorted({word[:WORD_CHARS] for word in fold(name or "").split()})


def prefix_range(word: str) -> tuple[str, str]:
    """(low, high) such that low <= w <= high holds for exactly the folded words w starting with
    `word`: the words are [a-z0-9] only, 'z' sorts last under C and language collations alike,
    and a btree index serves the range on both databases (LIKE would need per-dialect set-up)."""
    word = word[:WORD_CHARS]
    return word, word + "z" * (WORD_CHARS - len(word))
