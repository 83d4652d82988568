"""What a short reply means at a question: an act (agree, cancel...), a control word, an option or a field.

Every flow asks these questions here, so "iya setuju", "boleh deh", "gak jadi deh" and "the
second one" mean the same at every step. The words live in content/lexicon/acts.yaml; a reply is
read as typed (lower case, no punctuation) and, when that finds nothing, once more through the
slang and dialect lexicon ("gk jd" -> "tidak jadi", "nggih" -> "ya").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from handlers.nlu.normalize import default_normalizer
from handlers.nlu.resources import LEXICON_DIR, ContentError, load_numbers, read_yaml
from handlers.text import keyword

ACTS = ("agree", "decline", "cancel", "back", "help", "edit", "send")
FILLER = "_filler"
_PATH = LEXICON_DIR / "acts.yaml"
_MAX_WORDS = 8  # a longer reply is a sentence to understand, not an act
# "ya" in "ya batal" or "ok gak jadi" only leads in; the other act is what is meant.
_WEAK_AGREE = frozenset({"ya", "iya", "ok", "oke", "okay", "yes", "y", "sip", "baik"})
_TYPO_MIN = 5  # only words this long may carry one typo ("setjuu" is setuju; "ta" is not "ya")
_NUMBER = re.compile(r"^\d{1,2}$")
_LABEL_CUTOFF = 85.0


@dataclass(frozen=True)
class Lexicon:
    phrases: dict[str, str]  # phrase -> act or FILLER
    controls: dict[str, str]  # phrase -> control name
    ordinals: dict[str, str]  # phrase -> "1".."10" or "last"
    choice_words: frozenset[str]
    fields: dict[str, str]  # phrase -> field name
    questions: dict[str, dict[str, str]]  # question -> phrase -> act, words that answer that question only
    max_phrase: int


def _phrase_list(raw: object, where: str) -> list[str]:
    if not isinstance(raw, list):
        raise ContentError(f"{_PATH}: {where} must be a list of phrases")
    out = []
    for value in raw:
        if not isinstance(value, str) or not value.strip():
            raise ContentError(f"{_PATH}: {where}: {value!r} is not text; quote it in the YAML")
        out.append(" ".join(value.casefold().split()))
    return out


def _section(data: dict[str, object], name: str) -> dict[str, list[str]]:
    raw = data.get(name)
    if not isinstance(raw, dict):
        raise ContentError(f"{_PATH}: section {name!r} must map names to lists of phrases")
    return {str(key): _phrase_list(value, f"{name}.{key}") for key, value in raw.items()}


def _inverted(section: dict[str, list[str]], name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, phrases in section.items():
        for phrase in phrases:
            if out.get(phrase, key) != key:
                raise ContentError(f"{_PATH}: {name}: {phrase!r} is both {out[phrase]!r} and {key!r}")
            out[phrase] = key
    return out


@cache
def lexicon() -> Lexicon:
    data = read_yaml(_PATH)
    if not isinstance(data, dict):
        raise ContentError(f"{_PATH}: expected a mapping of sections")
    acts = _section(data, "acts")
    unknown = set(acts) - set(ACTS)
    if unknown:
        raise ContentError(f"{_PATH}: unknown acts {sorted(unknown)}; the code knows {ACTS}")
    phrases = _inverted(acts, "acts")
    for filler in _phrase_list(data.get("fillers"), "fillers"):
        phrases.setdefault(filler, FILLER)
    questions: dict[str, dict[str, str]] = {}
    for question, raw in (data.get("questions") or {}).items():
        if not isinstance(raw, dict):
            raise ContentError(f"{_PATH}: questions.{question} must map acts to phrases")
        own = {str(k): _phrase_list(v, f"questions.{question}.{k}") for k, v in raw.items()}
        if set(own) - set(ACTS):
            raise ContentError(f"{_PATH}: questions.{question}: unknown acts {sorted(set(own) - set(ACTS))}")
        questions[str(question)] = _inverted(own, f"questions.{question}")
    return Lexicon(
        phrases=phrases,
        questions=questions,
        controls=_inverted(_section(data, "controls"), "controls"),
        ordinals=_inverted(_section(data, "ordinals"), "ordinals"),
        choice_words=frozenset(_phrase_list(data.get("choice_words"), "choice_words")),
        fields=_inverted(_section(data, "fields"), "fields"),
        max_phrase=max(len(p.split()) for table in (phrases, *questions.values()) for p in table),
    )


def words(control: str) -> frozenset[str]:
    """The phrases of one control word ("stop", "remind"...), for a flow that matches a whole message."""
    found = frozenset(p for p, name in lexicon().controls.items() if name == control)
    if not found:
        raise KeyError(f"no control {control!r} in {_PATH}")
    return found


def control(text: str) -> str | None:
    """The control word the whole message is ("STOP!" -> "stop", "data sy" -> "my_data"), or None."""
    if not text or len(text.split()) > _MAX_WORDS:
        return None
    controls = lexicon().controls
    found = controls.get(keyword(text)) or controls.get(text.strip().lower())
    return found or controls.get(default_normalizer()(text))


def act(text: str, *, at: str | None = None) -> str | None:
    """The one act the reply is, or None: "iya setuju" -> agree, "gak jadi deh" -> cancel.

    `at` names the question, whose own words count too ("hapus" agrees at "delete_confirm").
    """
    if not text or len(text.split()) > _MAX_WORDS:
        return None
    lex = lexicon()
    table: Mapping[str, str] = {**lex.phrases, **lex.questions[at]} if at else lex.phrases
    plain = keyword(text) or text.strip().lower()
    found = _read(plain.split(), table, lex.max_phrase)
    if found is None:
        normalised = default_normalizer()(text)
        if normalised and normalised != plain:
            found = _read(normalised.split(), table, lex.max_phrase)
    return found


def _read(tokens: list[str], table: Mapping[str, str], max_phrase: int) -> str | None:
    seen: list[tuple[str, str]] = []  # (act, phrase)
    i = 0
    while i < len(tokens):
        for n in range(min(max_phrase, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + n])
            if phrase in table:
                if table[phrase] != FILLER:
                    seen.append((table[phrase], phrase))
                i += n
                break
        else:
            typo = _typo(tokens[i], table)
            if typo is None:
                return None  # a word that is no act: the reply says something else
            seen.append((typo, tokens[i]))
            i += 1
    kinds = {kind for kind, _ in seen}
    if len(kinds) > 1 and "agree" in kinds and all(p in _WEAK_AGREE for k, p in seen if k == "agree"):
        kinds.discard("agree")
    return kinds.pop() if len(kinds) == 1 else None


def _typo(token: str, table: Mapping[str, str]) -> str | None:
    if len(token) < _TYPO_MIN or not token.isalpha():
        return None
    close = {act for phrase, act in table.items()
             if act != FILLER and " " not in phrase and abs(len(phrase) - len(token)) <= 1
             and OSA.distance(phrase, token, score_cutoff=1) <= 1}  # fmt: skip
    return close.pop() if len(close) == 1 else None


def choose(text: str, labels: Sequence[str], *, numbers: bool = True) -> int | None:
    """The index of the option a reply picks: by number ("2", "no 2"), ordinal ("yang kedua",
    "the last one"), its label ("Kota Serang") or a unique part of it ("serang kota", "ojek").
    `numbers=False` where a bare number is an answer of its own (an amount, a count)."""
    if not labels:
        return None
    lex = lexicon()
    plain = keyword(text)
    tokens = [t for t in plain.split() if t not in lex.choice_words]
    rest = " ".join(tokens)
    if numbers and _NUMBER.match(rest) and 1 <= int(rest) <= len(labels):
        return int(rest) - 1
    ordinal = lex.ordinals.get(rest) or lex.ordinals.get(plain)
    if ordinal is not None and (numbers or rest not in load_numbers()["numbers"]):
        index = len(labels) - 1 if ordinal == "last" else int(ordinal) - 1
        if 0 <= index < len(labels):
            return index
    return _by_label(plain, rest, labels)


def _by_label(plain: str, rest: str, labels: Sequence[str]) -> int | None:
    names = [keyword(label) for label in labels]
    for candidate in (plain, rest):
        if candidate in names:
            return names.index(candidate)
    if len(rest) < 3:
        return None
    # A part of one label only: "ojek" picks "Ojek / ojol / kurir", "small business" its button.
    parts = [i for i, name in enumerate(names) if re.search(rf"\b{re.escape(rest)}\b", name)]
    if len(parts) == 1:
        return parts[0]
    scores = sorted(((_window_score(rest, name), i) for i, name in enumerate(names)), reverse=True)
    best, index = scores[0]
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    return index if best >= _LABEL_CUTOFF and best - runner_up >= 5 else None


def _window_score(typed: str, label: str) -> float:
    """How close `typed` is to the closest run of as many words in `label` ("pandeglng" ~ "kab pandeglang")."""
    size = len(typed.split())
    words = label.split()
    runs = [" ".join(words[i : i + size]) for i in range(max(len(words) - size + 1, 1))]
    return max(fuzz.ratio(typed, run) for run in runs)


def field(text: str, *, bare: bool) -> str | None:
    """The form field a reply asks to change: "ubah nik", "ganti penghasilan", "change my phone";
    with `bare`, the field's name alone ("nik") is enough (the worker was asked which field)."""
    lex = lexicon()
    tokens = keyword(text).split()
    if not tokens or len(tokens) > _MAX_WORDS:
        return None
    verbs = {p for p, a in lex.phrases.items() if a == "edit"}
    edited = False
    names: set[str] = set()
    i = 0
    while i < len(tokens):
        for n in range(min(3, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + n])
            if phrase in lex.fields:
                names.add(lex.fields[phrase])
                i += n
                break
            if phrase in verbs:
                edited = True
                i += n
                break
            if phrase in lex.choice_words or lex.phrases.get(phrase) == FILLER:
                i += n
                break
        else:
            return None
    if len(names) != 1 or not (edited or bare):
        return None
    return names.pop()
