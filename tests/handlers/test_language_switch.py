"""A worker is answered in the language they write (issue 13, item 5): clear English switches to
English, clear Indonesian (or a regional flavour) switches back, anything unsure keeps the language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.nlu.resources import LEXICON_DIR
from storage.models import Contact
from tests.factories import Chat


async def _language(db, user: str = "w1") -> str:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        contact: Contact = await s.scalar(select(Contact).where(Contact.external_id == user))
        return contact.language


async def test_english_question_english_answer_then_back_to_indonesian(engine, db) -> None:
    chat = Chat(engine)  # no language hint: Indonesian by default
    await chat.say("how do I pay")
    assert "You can pay through" in chat.text and "Bisa bayar" not in chat.text
    assert "outside what I can help with" not in chat.text
    assert await _language(db) == "en"
    await chat.say("berapa iurannya")
    assert "Iuran" in chat.text and "contribution" not in chat.text
    assert await _language(db) == "id"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("how much do I pay per month if I earn 3 million", "contribution for an income of Rp3.000.000"),
     ("what happens if I die", "death benefit"),
     ("hi, do you speak english?", "we will use English")],
)  # fmt: skip
async def test_the_issue_questions_are_answered_in_english(engine, db, text: str, expected: str) -> None:
    chat = Chat(engine, language_hint="id")
    await chat.say(text)
    assert expected in chat.text.replace("*", "")
    assert "outside what I can help with" not in chat.text
    assert await _language(db) == "en"


async def test_switching_is_silent(engine) -> None:
    chat = Chat(engine)
    await chat.say("how do I pay")
    assert "we will use English" not in chat.text  # no announcement: the answer is simply in English


@pytest.mark.parametrize("text", ["kumaha carana daptar", "piye carane mbayar iuran", "gimane caranye daftar bang"])
async def test_regional_indonesian_switches_back(engine, db, text: str) -> None:
    chat = Chat(engine, language_hint="en")
    await chat.say("what is jkk")
    assert await _language(db) == "en"
    await chat.say(text)
    assert await _language(db) == "id"


@pytest.mark.parametrize("text", ["ok", "jkk", "bpjs", "Budi Santoso", "081234567890"])
async def test_unsure_messages_keep_english(engine, db, text: str) -> None:
    chat = Chat(engine)
    await chat.say("what is the death benefit")
    await chat.say(text)
    assert await _language(db) == "en"


async def test_the_form_answers_do_not_switch_language(engine, db) -> None:
    chat = Chat(engine)  # Indonesian by default; the worker writes English
    await chat.say("i want to register")
    await chat.say("yes")
    assert "full name" in chat.text
    await chat.say("Budi Santoso")
    assert "NIK" in chat.text and "16 numbers" in chat.text
    for answer in ("3673015508900001", "15-08-1990", "081234567890"):
        await chat.say(answer)
    await chat.press("Kota Serang")
    await chat.say("taktakan")
    await chat.say("pedagang kaki lima")
    assert "Rp1.000.000" in chat.text and "income" in chat.text  # the income question, in English
    assert await _language(db) == "en"


@pytest.mark.skipif(not (LEXICON_DIR / "acts.yaml").exists(), reason="control words not in a lexicon yet")
async def test_an_indonesian_control_word_named_in_an_english_answer_keeps_english(engine, db) -> None:
    chat = Chat(engine, language_hint="en")
    await chat.say("data saya")
    assert await _language(db) == "en"
