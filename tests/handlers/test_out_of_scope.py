"""Out of scope with care (issue 13, item 6): other agencies named with their contact, gibberish,
insults and bare emoji answered apart, never the same block twice in a row, a person offered after
two misses in a row, and every message not understood kept in the unanswered log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from content.facts import load_facts
from handlers import misses
from storage.models import UnansweredMessage
from tests.factories import Chat

AGENCIES = load_facts()["other_agencies"]


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("id", "cara daftar bpjs kesehatan gimana?", ("BPJS Kesehatan", AGENCIES["health"]["care_centre"], "Mobile JKN")),
        ("id", "kartu kis sy ilang", ("BPJS Kesehatan", AGENCIES["health"]["care_centre"])),
        ("id", "kapan bansos cair?", ("Kemensos", "desa/kelurahan")),
        ("id", "cara daftar kartu prakerja", (AGENCIES["prakerja"]["website"],)),
        ("id", "ktp saya hilang gmn ngurusnya", ("Disdukcapil",)),
        ("en", "how do I use my BPJS health insurance card", ("BPJS Kesehatan", "165", "Mobile JKN")),
        ("en", "how do I get bansos", ("Kemensos", "village office")),
        ("en", "how to apply for prakerja", ("prakerja.go.id",)),
    ],
)  # fmt: skip
async def test_other_agencies_are_named_with_their_contact(engine, lang: str, text: str,
                                                           expected: tuple[str, ...]) -> None:  # fmt: skip
    chat = Chat(engine, language_hint=lang)
    await chat.say(text)
    for part in expected:
        assert part in chat.text.replace("*", ""), (text, part, chat.text)
    assert "175" in chat.text  # and where our own questions go
    assert len(chat.last) == 1


async def test_a_message_about_our_programme_is_not_sent_away(engine) -> None:
    chat = Chat(engine)
    await chat.say("sudah punya bpjs kesehatan, apa bedanya dengan bpjs ketenagakerjaan?")
    assert "165" not in chat.text


async def test_the_same_agency_asked_again_gets_a_short_reminder(engine) -> None:
    chat = Chat(engine)
    await chat.say("bpjs kesehatan gimana")
    first = chat.text
    await chat.say("bpjs kesehatan")
    assert chat.text != first and "165" in chat.text and len(chat.text) < len(first)


@pytest.mark.parametrize(
    ("lang", "text", "template"),
    [
        ("id", "asdfghjkl", "belum menangkap"),
        ("en", "qwertyuiop", "didn't catch that"),
        ("id", "wkwkwkwk", "belum menangkap"),
        ("id", "?", "Ada yang bisa saya bantu"),
        ("en", "??", "How can I help"),
        ("id", "😂😂", "Ada yang bisa saya bantu"),
        ("id", "bot goblok", "Maaf kalau jawaban saya belum membantu"),
        ("en", "stupid bot", "Sorry if my answers have not helped"),
    ],
)
async def test_stray_messages_get_their_own_short_answer_with_the_menu(engine, lang: str, text: str,
                                                                       template: str) -> None:  # fmt: skip
    chat = Chat(engine, language_hint=lang)
    await chat.say(text)
    assert template in chat.text
    assert len(chat.last) == 1 and len(chat.text) < 250
    assert len(chat.labels()) >= 6  # the menu goes with it


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_ten_misses_never_repeat_a_block_and_offer_a_person_from_the_second(engine, lang: str) -> None:
    chat = Chat(engine, language_hint=lang)
    person = "Bicara ke petugas" if lang == "id" else "Talk to an officer"
    said: list[str] = []
    offered: list[bool] = []
    # In the worker's language: a worker who writes Indonesian is answered in Indonesian.
    questions = {"id": ("siapa presiden sekarang", "cuaca hari ini"),
                 "en": ("who is the president now", "what is the weather today")}[lang]  # fmt: skip
    for text in ["asdfgh", questions[0], "?", "qwerty", "zzzzzz", questions[1], "😂",
                 "hjkl", "bot goblok", "stupid"]:  # fmt: skip
        await chat.say(text)
        said.append(chat.text)
        offered.append(person in chat.labels())
    assert all(a != b for a, b in zip(said, said[1:], strict=False)), said
    assert not offered[0] and all(offered[1:])
    assert person in said[1].replace("*", "")  # said in words, not only a button


async def test_an_understood_message_ends_the_streak(engine) -> None:
    chat = Chat(engine)
    await chat.say("asdfgh")
    await chat.say("berapa iuran minimal?")
    await chat.say("qwerty")
    assert "belum menangkap" in chat.text  # a first miss again, not "still"


async def test_every_miss_lands_in_the_unanswered_log(engine, db) -> None:
    chat = Chat(engine)
    for text in ("asdfgh", "bpjs kesehatan", "?", "bot goblok", "siapa presiden sekarang"):
        await chat.say(text)
    async with db.session() as s:
        logged = [row.text for row in (await s.scalars(select(UnansweredMessage))).all()]
    assert logged == ["asdfgh", "bpjs kesehatan", "?", "bot goblok", "siapa presiden sekarang"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [("asdfgh", misses.GIBBERISH), ("hmm", misses.GIBBERISH), ("?", misses.PROMPT), ("🙏", misses.PROMPT),
     ("dasar goblok", misses.INSULT), ("ga guna", misses.INSULT), ("siapa presiden", None), ("jkk", None),
     ("ok", None), ("1500000", None)],
)  # fmt: skip
def test_kinds_of_stray_message(text: str, kind: str | None) -> None:
    assert misses.kind_of(text) == kind


@pytest.mark.parametrize("text", ["what is the weather today", "tell me a joke", "who will win the football match"])
async def test_english_chit_chat_is_out_of_scope(engine, text: str) -> None:
    chat = Chat(engine, language_hint="en")
    await chat.say(text)
    assert "outside what I can help with" in chat.text and "JKM" not in chat.text
