"""Features of a normalised message: character n-grams inside each word, plus words and word pairs.

Character n-grams carry typos and affixes ("daftarin", "pendaftaran", "daptar" share "daf"/"ftar");
word features carry the short phrases whose meaning is not in their letters ("stop", "tidak usah").
Training and prediction both call `extract`, so they cannot drift apart.
"""

from __future__ import annotations

CHAR_MIN = 2
CHAR_MAX = 5


def extract(normalized: str) -> list[str]:
    words = normalized.split()
    out: list[str] = []
    for word in words:
        padded = f" {word} "
        for n in range(CHAR_MIN, min(CHAR_MAX, len(padded)) + 1):
            out.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    out.extend(f"w:{w}" for w in words)
    out.extend(f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return out
