"""Issue 14.2: a NIK or phone number is masked however it is spelled, and no digit breaks a parser.

Spellings: digits grouped by dots, slashes, spaces or dashes, split by invisible characters
(U+2060, U+200B), in fullwidth; the conversation runs through the engine on SQLite and
PostgreSQL, and every stored text (message log, unanswered log, conversation state) and
every reply is searched for the number.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from handlers.nlu.entities import parse_money
from handlers.redact import redact
from handlers.text import digits_only
from handlers.validators import Invalid, parse_nik
from storage.models import ConversationState, MessageLog, UnansweredMessage
from tests.factories import Chat

SEPARATORS = [".", "/", " ", "-", "\u2060", "\u200b", " / ", ". "]
EXOTIC_DIGITS = "፪➎❸⓹٣۴१২௫๖໗༨၉០᠑⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂０１２３４５６７８９①②③⓪❶➀𝟎𝟙𝟤𝟯𝟺"
NIK = "3604015708900003"
PHONE = "081234567890"


def _fullwidth(d: str) -> str:
    return chr(ord(d) + 0xFEE0)


@st.composite
def spelled(draw: st.DrawFn, digits: str) -> str:
    """`digits` as a worker might type them: grouped, split, partly fullwidth."""
    out, i = [], 0
    while i < len(digits):
        size = draw(st.integers(1, 4))
        group = digits[i : i + size]
        out.append("".join(_fullwidth(d) if draw(st.booleans()) and draw(st.booleans()) else d for d in group))
        i += size
    sep = draw(st.sampled_from(SEPARATORS))
    mixed = draw(st.booleans())
    return "".join(g + (draw(st.sampled_from(SEPARATORS)) if mixed else sep) for g in out[:-1]) + out[-1]


niks = st.from_regex(r"36[0-9]{2}0[1-9][0-3][0-9][01][0-9][0-9]{2}[0-9]{3}[1-9]", fullmatch=True)
phones = st.from_regex(r"08[1-9][0-9]{8,10}", fullmatch=True)


@pytest.mark.parametrize(
    "text",
    ["nik 3.604.015.708.900.003", "hp 081.234.567.890", "3604/0157/0890/0003", "3604\u20600157\u20600890\u20600003",
     "３６０４０１５７０８９０００３", "0812\u200b3456\u200b7890"],
)  # fmt: skip
def test_the_issue_spellings_are_masked_and_are_not_money(text: str) -> None:
    masked = redact(text)
    assert NIK not in digits_only(masked) and PHONE[1:] not in digits_only(masked), masked
    assert parse_money(text) is None and parse_money("Rp" + text.split()[-1]) is None


@given(st.one_of(niks, phones).flatmap(lambda d: st.tuples(st.just(d), spelled(d))))
@example((NIK, "3.604.015.708.900.003"))
@example((PHONE, "081.234.567.890"))
@settings(max_examples=200)
def test_any_spelling_is_masked_and_never_read_as_money(case: tuple[str, str]) -> None:
    digits, text = case
    for message in (text, f"nik saya {text} ya", f"gaji Rp{text}"):
        assert digits[1:] not in digits_only(redact(message)), message
        amount = parse_money(message)
        assert amount is None or str(amount) not in digits, (message, amount)


@given(niks.flatmap(lambda d: st.tuples(st.just(d), spelled(d))))
@settings(max_examples=100)
def test_a_nik_is_read_the_same_however_it_is_spelled(case: tuple[str, str]) -> None:
    digits, text = case
    try:
        info = parse_nik(text)
    except Invalid:
        return  # a date part that does not exist; the spelling is not what is tested
    assert info.nik == digits and info.nik.isascii()


def test_a_nik_is_ascii_digits_once_read() -> None:
    # Superscripts fold to the same NIK, so the duplicate check (a hash of the digits) sees one NIK.
    assert parse_nik("36040157089000⁰³").nik == "3604015708900003"


def _words(*extra: str, max_size: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from([*EXOTIC_DIGITS, *extra]), max_size=max_size).map("".join)


@given(_words(" ", ".", ",", "rp", "jt", "juta", "rb", "ribu", max_size=30))
@example("፪ juta")
@example("➎ ❸ ⓹")
@settings(max_examples=300)
def test_exotic_digits_never_break_the_money_parser(text: str) -> None:
    amount = parse_money(text)
    assert amount is None or amount >= 1


async def _stored_texts(engine) -> list[str]:  # type: ignore[no-untyped-def]
    async with engine.db.session() as session:
        texts = list(await session.scalars(select(MessageLog.text)))
        for row in await session.execute(select(UnansweredMessage.text, UnansweredMessage.normalized)):
            texts += list(row)
        texts += [
            json.dumps(data, ensure_ascii=False) for data in await session.scalars(select(ConversationState.data))
        ]
    return texts


_users = iter(range(1, 1_000_000))


@given(case=st.one_of(niks, phones).flatmap(lambda d: st.tuples(st.just(d), spelled(d))))
@example(case=(NIK, "3.604.015.708.900.003"))
@example(case=(NIK, "3604/0157/0890/0003"))
@example(case=(PHONE, "081.234.567.890"))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_no_spelling_is_stored_or_echoed_in_clear(engine, case: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    digits, text = case
    chat = Chat(engine, user=f"mask-{next(_users)}")
    replies = []
    for message in (f"tolong cek {text}", "hitung iuran", text, f"penghasilan saya {text}", f"{text} itu nik saya"):
        replies += [r.text for r in await chat.say(message)]
    for stored in [*await _stored_texts(engine), *replies]:
        assert digits[1:] not in digits_only(stored), stored
        assert not re.search(r"\d{16}", stored), stored
    assert not any("gangguan" in r for r in replies)


@given(text=_words(" ", "juta", "rb", "iuran", "gaji", max_size=12).filter(str.strip))
@example(text="gaji ፪ juta")
@example(text="➎❸⓹")
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_exotic_digits_get_an_answer_not_an_error(engine, text: str) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(engine, user=f"exotic-{next(_users)}")
    for message in ("hitung iuran", text, f"iuran kalau penghasilan {text}"):
        replies = await chat.say(message)
        assert replies and not any("gangguan" in r.text for r in replies), (message, [r.text for r in replies])
