"""Messages the bot cannot answer, answered with care.

Another agency's programme (health cover, social assistance, Kartu Prakerja, the KTP) is named
with who handles it; gibberish gets "I didn't catch that" with the menu; an insult a calm line;
an emoji or a bare "?" a short prompt. The same block is never sent twice in a row: how many
misses came just before is read from the conversation log, so the answer shortens on a repeat
and, from the second miss in a row, offers a person. Everything not understood is kept in the
unanswered log for staff to review.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from sqlalchemy import select

from handlers.messages import Button
from handlers.nlu.normalize import default_normalizer
from handlers.nlu.resources import LEXICON_DIR, load_lexicon, read_yaml
from handlers.turn import Turn
from storage import repositories as repo
from storage.models import MessageLog

# Intents written to the conversation log for a message that was not understood.
GIBBERISH, INSULT, PROMPT, UNSURE, OUT_OF_SCOPE = "gibberish", "insult", "prompt", "unsure", "out_of_scope"
MISSES = frozenset({GIBBERISH, INSULT, PROMPT, UNSURE, OUT_OF_SCOPE})
AGENCY = "agency:"  # + the agency's key in facts.yaml's other_agencies
_STREAK_LOOKBACK = 3  # enough to tell a first miss from a repeated one
# A message that names this programme is about it, even beside another agency's name.
_OURS = re.compile(r"\b(?:ketenagakerjaan|bpjstk|bpjamsostek|jamsostek|bpjs tk|bpu|jmo|jkk|jkm|jht)\b")
_VOWEL = re.compile(r"[aeiou]")
_CONSONANT_RUN = re.compile(r"[b-df-hj-np-tv-z]{5,}")
_REPEAT = re.compile(r"(.)\1{3,}")
_LAUGHS = frozenset({"wkwk", "wkwkwk", "haha", "hahaha", "hehe", "hihi"})
_KEYBOARD = ("qwert", "asdf", "sdfg", "hjkl", "zxcv", "jkl", "fghj")


@cache
def _stray() -> dict[str, Any]:
    data = read_yaml(LEXICON_DIR / "stray.yaml") or {}
    agencies = {name: _phrases(words) for name, words in (data.get("agencies") or {}).items()}
    return {"agencies": agencies, "insults": _phrases(data.get("insults") or []),
            "known": frozenset(load_lexicon().words)}  # fmt: skip


def _phrases(words: list[str]) -> re.Pattern[str]:
    alternatives = sorted((" ".join(str(w).casefold().split()) for w in words), key=len, reverse=True)
    return re.compile(r"(?:^|(?<=\s))(?:" + "|".join(map(re.escape, alternatives)) + r")(?=\s|$)")


def _forms(text: str) -> tuple[str, str]:
    """The text as the worker wrote it (lower case, words only) and as the lexicon reads it."""
    plain = " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())
    return plain, default_normalizer()(text)


def agency_of(text: str) -> str | None:
    """The other agency a message asks about ("health", "social_assistance", "prakerja", "id_card")."""
    forms = _forms(text)
    if any(_OURS.search(form) for form in forms):
        return None
    agencies: dict[str, re.Pattern[str]] = _stray()["agencies"]  # type: ignore[assignment]
    for name, pattern in agencies.items():
        if any(pattern.search(form) for form in forms):
            return name
    return None


def kind_of(text: str) -> str | None:
    """What a message that was not understood is: an insult, an emoji or bare punctuation, gibberish;
    None when it reads as an ordinary question the bot could not place."""
    if not any(ch.isalnum() for ch in text):
        return PROMPT
    insults: re.Pattern[str] = _stray()["insults"]  # type: ignore[assignment]
    if any(insults.search(form) for form in _forms(text)):
        return INSULT
    words = re.findall(r"[^\W\d_]+", text.casefold())
    known = _stray()["known"]  # slang the lexicon reads ("brp", "gmn") is not random
    if (
        words
        and not re.search(r"\d", text)
        and not any(_OURS.search(form) for form in _forms(text))
        and all((_looks_random(w) and w not in known) or w in _LAUGHS for w in words)
    ):
        return GIBBERISH
    return None


def _looks_random(word: str) -> bool:
    if len(word) < 3:
        return False
    return (
        not _VOWEL.search(word)
        or bool(_CONSONANT_RUN.search(word))
        or bool(_REPEAT.search(word))
        or any(row in word for row in _KEYBOARD)
        or _is_laugh(word)
    )


def _is_laugh(word: str) -> bool:
    # "wkwkwk", "hahaha", "hehe": no question in it.
    return len(word) >= 4 and len(set(word)) <= 2 and word[:2] in ("wk", "ha", "he", "hi", "xi")


async def _recent_intents(turn: Turn) -> list[str | None]:
    rows = await turn.session.scalars(
        select(MessageLog.intent)
        .where(MessageLog.contact_id == turn.contact.id, MessageLog.direction == "in")
        .order_by(MessageLog.id.desc())
        .limit(_STREAK_LOOKBACK)
    )
    return list(rows)


def _streak(intents: list[str | None]) -> int:
    """How many of the worker's latest messages in a row were not understood."""
    count = 0
    for intent in intents:
        if intent not in MISSES:
            break
        count += 1
    return count


async def log(turn: Turn, guess: str | None, confidence: float | None) -> None:
    from handlers.nlu.normalize import normalize
    from handlers.redact import redact

    await repo.log_unanswered(
        turn.session, turn.contact.id, redact(turn.text), redact(normalize(turn.text)), guess, confidence
    )


async def agency(turn: Turn, name: str, menu: list[Button]) -> None:
    """Point to the agency that handles what was asked; shorter when asked again right away."""
    previous = await _recent_intents(turn)
    turn.intent = AGENCY + name
    await log(turn, OUT_OF_SCOPE, None)
    turn.state.topic = None
    turn.say("other_agency", agency=name, again=bool(previous) and previous[0] == turn.intent,
             buttons=menu)  # fmt: skip


async def miss(
    turn: Turn,
    *,
    guess: str | None,
    confidence: float | None,
    menu: list[Button],
    person: Button,
    suggestions: list[Button] | None = None,
) -> None:
    """Answer a message that was not understood. `suggestions`: likely topics, for a question
    that reads as one (the low-confidence case); without them the out-of-scope answer is given."""
    kind = kind_of(turn.text) or (UNSURE if suggestions is not None else OUT_OF_SCOPE)
    streak = _streak(await _recent_intents(turn))
    # The block said last, kept only to say a different one now; read only within a streak.
    last = turn.data.get("last_miss") if streak else None
    turn.intent = kind
    turn.state.topic = None
    await log(turn, guess, confidence)
    menu_button = turn.button("menu", "menu")
    if kind == INSULT:
        # Never in kind: a calm line; shorter, with a person offered, when it follows another miss.
        block = "insult_short" if streak and last != "insult_short" else "insult"
        buttons = [person, menu_button] if block == "insult_short" else [*menu, person]
        turn.say("miss_insult", again=block == "insult_short", buttons=buttons)
    elif streak:
        # From the second miss in a row a person is offered; the wording alternates.
        block = "again" if last == "person" else "person"
        if block == "person":
            turn.say("miss_offer_person", kind=kind, buttons=[person, menu_button])
        else:
            turn.say("miss_again", kind=kind, buttons=[*menu, person])
    else:
        block = kind
        if kind == UNSURE:
            turn.say("not_sure", buttons=[*(suggestions or []), person])
        elif kind == OUT_OF_SCOPE:
            turn.say("out_of_scope", buttons=menu)
        else:
            turn.say(f"miss_{kind}", buttons=menu)
    turn.save_data(last_miss=block)
