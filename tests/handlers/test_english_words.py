"""English control words (issue 13, part of item 5): accepted where the Indonesian ones are."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.nlu import entities
from storage.models import Contact, Lead
from tests.factories import Chat


async def _contact(db, user: str = "w1") -> Contact:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        contact: Contact = await s.scalar(select(Contact).where(Contact.external_id == user))
        return contact


@pytest.mark.parametrize(
    ("lang", "agree", "back", "occupation", "income", "cancel"),
    [("en", "Agree", "back", "small business", "5 million", "cancel"),
     ("en", "yes", "back", "I am a street vendor", "2.5 million", "cancel"),
     ("id", "iya setuju", "kembali", "pedagang", "5 juta", "batal")],
)  # fmt: skip
async def test_the_form_takes_typed_control_words_and_labels(engine, db, lang: str, agree: str, back: str,
                                                            occupation: str, income: str, cancel: str) -> None:  # fmt: skip
    chat = Chat(engine, language_hint=lang)
    await chat.say("i want to register" if lang == "en" else "mau daftar")
    await chat.say(agree)
    assert "NIK" not in chat.text and ("full name" in chat.text or "nama lengkap" in chat.text)
    await chat.say("Budi Santoso")
    assert "NIK" in chat.text
    await chat.say(back)
    assert "NIK" not in chat.text  # the name again
    for answer in ("Budi Santoso", "3673015508900001", "15-08-1990", "081234567890"):
        await chat.say(answer)
    await chat.press("Kota Serang")
    await chat.say("taktakan")
    await chat.say(occupation)
    assert "Rp1.000.000" in chat.text  # the income question, not the occupation again
    await chat.say(income)
    assert "JKK + JKM" in chat.text  # the programmes question: the income was read
    await chat.say(cancel)
    async with db.session() as s:
        assert (await s.scalars(select(Lead))).all() == []
    assert len(chat.labels()) >= 6  # the menu


@pytest.mark.parametrize("text", ["no", "I don't agree", "disagree"])
async def test_declining_consent_in_english(engine, db, text: str) -> None:
    chat = Chat(engine, language_hint="en")
    await chat.say("i want to register")
    await chat.say(text)
    assert (await _contact(db)).consent_at is None
    assert "Choose" not in chat.text  # understood, not asked again


@pytest.mark.parametrize(("lang", "stop", "start"), [("en", "stop", "start"), ("id", "berhenti", "mulai")])
async def test_the_word_the_stop_answer_names_opts_back_in(engine, db, lang: str, stop: str, start: str) -> None:
    chat = Chat(engine, language_hint=lang)
    await chat.say(stop)
    assert f"*{start}*" in chat.text
    assert (await _contact(db)).opted_out_at is not None
    await chat.say(start)
    assert (await _contact(db)).opted_out_at is None


async def test_telegrams_start_command_does_not_opt_back_in(engine, db) -> None:
    chat = Chat(engine, language_hint="en")
    await chat.say("stop")
    await chat.say("/start")
    assert (await _contact(db)).opted_out_at is not None


@pytest.mark.parametrize(
    ("said", "lang", "answer"),
    [("hi, do you speak english?", "en", "English"), ("can I write in English", "en", "English"),
     ("bisa pakai bahasa inggris?", "en", "English"), ("can you speak indonesian?", "id", "Bahasa Indonesia")],
)  # fmt: skip
async def test_asking_for_a_language_switches_to_it(engine, db, said: str, lang: str, answer: str) -> None:
    chat = Chat(engine, language_hint="en" if lang == "id" else "id")
    await chat.say(said)
    assert (await _contact(db)).language == lang
    assert answer in chat.text


@pytest.mark.parametrize(
    ("text", "amount"),
    [("5 million", 5_000_000), ("2.5 million", 2_500_000), ("1.5 million rupiah", 1_500_000),
     ("500 thousand", 500_000), ("I earn 3 million a month", 3_000_000)],
)  # fmt: skip
def test_english_money_words(text: str, amount: int) -> None:
    assert entities.parse_money(text) == amount


@pytest.mark.parametrize(
    ("text", "key"),
    [("trader", "trader"), ("farmer", "farmer"), ("fisherman", "fisher"), ("day labourer", "day_labourer"),
     ("construction worker", "day_labourer"), ("small business", "micro_business"), ("carpenter", "craft"),
     ("Small business / self-employed", "micro_business"), ("Trader (street / stall / market)", "trader")],
)  # fmt: skip
def test_english_occupation_words(text: str, key: str) -> None:
    assert entities.parse_occupation(text) == key
