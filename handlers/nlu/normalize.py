"""Turns a WhatsApp-style message into plain lower-case Indonesian words.

"Kumaha carana daptar??? 🙏" -> "bagaimana caranya daftar". The lexicon (content/lexicon/)
does most of the work; code handles what a word list cannot: stretched letters ("pagiii"),
reduplication ("kirim2"), regional suffixes on words the bot knows ("iuranna"), vowel-less
abbreviations ("pmbyrn") and typos ("pendaftran"), the last three only against the
vocabulary of the training phrases, so an unknown but correct word is left alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz, process

from handlers.nlu import language
from handlers.nlu.resources import Lexicon, load_lexicon

# A longer message is a paste, not a question; its head says what it is about, and
# cutting it keeps a 10,000-character message as fast as a short one.
MAX_CHARS = 400

_THOUSANDS = re.compile(r"(?<=\d)[.,](?=\d{3}(?!\d))")
_REDUPLICATION = re.compile(r"\b([^\W\d_]{2,})2([^\W\d_]*)")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_NON_WORD = re.compile(r"[\W_]+")
_RUN3 = re.compile(r"(.)\1{2,}")
_RUN2 = re.compile(r"(.)\1+")
_VOWELS = frozenset("aiueo")
_MIN_STEM = 3


def _skeleton(word: str) -> str:
    """First letter and the consonants after it: how Indonesians abbreviate ("untuk" -> "utk")."""
    return word[:1] + "".join(c for c in word[1:] if c not in _VOWELS)


def _typo_cutoff(length: int) -> float:
    # One inserted or dropped letter in a short word, about two edits in a long one.
    return 88.0 if length < 7 else 82.0


class Normalizer:
    """Callable: `normalizer(text) -> str`. Never raises on any string."""

    def __init__(self, lexicon: Lexicon, vocabulary: Iterable[str] = ()) -> None:
        self._words = lexicon.words
        self._suffixes = lexicon.suffixes
        self._emoji = lexicon.emoji
        self._max_phrase = lexicon.max_phrase
        counts = Counter(w for w in vocabulary if w.isalpha())
        self._known = set(counts) | {w for value in self._words.values() for w in value.split()}
        # Frequent words first: on a tie the likelier word wins.
        # Only words of the training phrases are targets: a typo is corrected towards what the
        # bot can understand, never towards a lexicon spelling ("persen" is not "pesen").
        self._choices = [w for w, _ in counts.most_common() if len(w) >= _MIN_STEM]
        self._skeletons: dict[str, str] = {}
        for word in self._choices:
            self._skeletons.setdefault(_skeleton(word), word)
        self._correct = lru_cache(maxsize=8192)(self._correct_word)
        # One message is read by several parsers in its turn (control words, the classifier, money,
        # occupation...), each asking for its words: worked out once. At most the last 64 messages
        # are held, in memory only (entities.py keeps more, but only short ones).
        self._recent = lru_cache(maxsize=64)(self._tokens)

    def __call__(self, text: str) -> str:
        return " ".join(self._recent(text[:MAX_CHARS]))

    def tokens(self, text: str) -> list[str]:
        return list(self._recent(text[:MAX_CHARS]))

    def _tokens(self, text: str) -> tuple[str, ...]:
        text = unicodedata.normalize("NFKC", text).casefold()
        for emoji, word in self._emoji.items():
            if emoji in text:
                text = text.replace(emoji, f" {word} ")
        text = _THOUSANDS.sub("", text)
        text = _REDUPLICATION.sub(r"\1 \1\2", text)
        text = _DIGIT_LETTER.sub(" ", text)
        split = _NON_WORD.sub(" ", text).split()
        # In a clearly English message English words stay English: "can i take" is not the
        # Sundanese "can" (belum) nor a Javanese "tak" with a suffix.
        english = language.is_english(split)
        raw = [t if english and language.is_english_word(t) else self._unstretch(t) for t in split]
        out: list[str] = []
        i = 0
        while i < len(raw):
            for n in range(min(self._max_phrase, len(raw) - i), 0, -1):
                if n == 1 and english and self._stays_english(raw[i]):
                    out.append(raw[i])
                    i += 1
                    break
                replacement = self._words.get(" ".join(raw[i : i + n]))
                if replacement is not None:
                    out.extend(replacement.split())
                    i += n
                    break
            else:
                out.extend(self._correct(raw[i]).split())
                i += 1
        return tuple(out)

    def _stays_english(self, word: str) -> bool:
        """In an English message an English word is neither typo-corrected nor read as a regional
        word it resembles; the lexicon's own translations ("thanks", "programs") still apply."""
        return language.is_english_word(word) and (word not in self._words or word in language.FALSE_FRIENDS)

    def _is_known(self, word: str) -> bool:
        return word in self._words or word in self._known

    def _unstretch(self, token: str) -> str:
        """ "pagiii" -> "pagi", "maaaf" -> "maaf": prefer a spelling the bot knows."""
        if self._is_known(token) or not token.isalpha() or not _RUN2.search(token):
            return token
        shortest = _RUN3.sub(r"\1", token)
        for candidate in (_RUN3.sub(r"\1\1", token), shortest, _RUN2.sub(r"\1", token)):
            if self._is_known(candidate):
                return candidate
        return shortest

    def _correct_word(self, token: str) -> str:
        if token in self._words:
            return self._words[token]
        if token in self._known or not token.isalpha() or len(token) < 2:
            return token
        for suffix, replacement in self._suffixes.items():
            stem = token[: -len(suffix)]
            if token.endswith(suffix) and len(stem) >= _MIN_STEM and self._is_known(stem):
                return self._words.get(stem, stem) + replacement
        if len(token) >= _MIN_STEM and not _VOWELS.intersection(token[1:]):
            word = self._skeletons.get(token)
            if word is not None:
                return self._words.get(word, word)
        if len(token) >= 4:
            cutoff = _typo_cutoff(len(token))
            match = process.extractOne(token, self._choices, scorer=fuzz.ratio, score_cutoff=cutoff)
            if match is not None:
                return self._words.get(match[0], match[0])
        return token


@lru_cache(maxsize=1)
def default_normalizer() -> Normalizer:
    """The lexicon alone, without a training vocabulary: for the entity parsers."""
    return Normalizer(load_lexicon())


def normalize(text: str) -> str:
    return default_normalizer()(text)
