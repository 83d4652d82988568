"""Where to register (issue 13, item 4): the ways first, with a button to leave details here; a
plain "mau daftar" still starts the form."""

from __future__ import annotations

import pytest

from content.facts import load_facts
from tests.factories import Chat

FACTS = load_facts()


@pytest.mark.parametrize(
    ("lang", "text", "button"),
    [("id", "Di mana saya bisa mendaftar BPU?", "Isi data di sini"),
     ("id", "daftar bpu dimana ya", "Isi data di sini"),
     ("id", "cara daftar gimana?", "Isi data di sini"),
     ("en", "where can I register?", "Leave details here"),
     ("en", "how do I sign up", "Leave details here")],
)  # fmt: skip
async def test_where_to_register_gives_the_ways_first(engine, lang: str, text: str, button: str) -> None:
    chat = Chat(engine, language_hint=lang)
    await chat.say(text)
    said = chat.text.replace("*", "")
    for way in (FACTS["member_app"], FACTS["website_bpu"], FACTS["office"]["branch"]):
        assert way in said, (way, said)
    assert chat.labels()[0] == button
    assert "UU 27/2022" not in said and "Law 27/2022" not in said  # no consent form yet
    await chat.press(button)
    assert "27/2022" in chat.text  # the form starts, consent first


@pytest.mark.parametrize(("lang", "text"), [("id", "mau daftar"), ("id", "daftar"), ("en", "I want to register")])
async def test_a_plain_wish_to_register_starts_the_form(engine, lang: str, text: str) -> None:
    chat = Chat(engine, language_hint=lang)
    await chat.say(text)
    assert "27/2022" in chat.text
