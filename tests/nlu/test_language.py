"""Which language a message is in (handlers/nlu/language.py): clear English, clear Indonesian
(with its regional flavours), or unsure, which keeps the language the worker was answered in."""

from __future__ import annotations

import pytest

from handlers.nlu.language import EN, ID, detect, follow
from handlers.nlu.normalize import normalize


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # English, plain and as workers write it
        ("how do I pay", EN),
        ("what happens if I die", EN),
        ("how much do I pay per month if I earn 3 million", EN),
        ("hi, do you speak english?", EN),
        ("i want to register", EN),
        ("how much is the iuran kak", EN),
        ("can i pay at indomaret ya", EN),
        ("my husband is die, what we get", EN),
        ("i am ojol driver can join?", EN),
        ("thank you", EN),
        # Indonesian and its slang
        ("berapa iurannya", ID),
        ("mau daftar", ID),
        ("bisa bayar di alfamart?", ID),
        ("tolong delete data sy", ID),
        ("sy mau tanya iuran bpjs", ID),
        ("makasih", ID),
        ("terima kasih", ID),
        ("saya ibu rumah tangga", ID),
        ("gimana?", ID),
        # Sundanese, Javanese, Betawi, Serang Jawa
        ("kumaha carana daptar", ID),
        ("sabaraha iuranna", ID),
        ("abdi bade daftar", ID),
        ("piye carane mbayar iuran", ID),
        ("kulo badhe tanglet", ID),
        ("gimane caranye daftar bang", ID),
        ("kite mau nanya nih", ID),
        ("bayare nang ndi", ID),
        # unsure: short, a name, a number, a place, a programme, a word both languages use
        ("ok", None),
        ("bpjs", None),
        ("jkk", None),
        ("halo", None),
        ("stop", None),
        ("yes", None),
        ("Budi Santoso", None),
        ("Siti Aminah", None),
        ("081234567890", None),
        ("3673015508900001", None),
        ("15-08-1990", None),
        ("taktakan", None),
        ("Cipocok Jaya", None),
        ("5 million", None),
        ("small business", None),
        ("pedagang kaki lima", None),
        ("ibu rumah tangga", None),  # a job typed at the form's question
        ("", None),
        ("indonesian please", None),  # asks for Indonesian: the language command answers it
        # mixed halfway: neither
        ("sy mau tanya how to pay", None),
    ],
)
def test_detect(text: str, lang: str | None) -> None:
    assert detect(text) == lang


@pytest.mark.parametrize(
    ("current", "text", "after"),
    [
        ("id", "how do I pay", "en"),
        ("en", "berapa iurannya", "id"),
        ("en", "ok", "en"),
        ("en", "Budi Santoso", "en"),
        ("en", "081234567890", "en"),
        ("id", "thanks", "id"),
        ("en", "kumaha carana daptar", "id"),
        (None, "jkk", "id"),
        (None, "what is jkk", "en"),
    ],
)
def test_follow_keeps_the_language_until_the_worker_clearly_writes_another(
    current: str | None, text: str, after: str
) -> None:
    assert follow(current, text) == after


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        # English words are not read as the regional words they resemble ...
        ("can i take the money", "can i take the money"),
        ("i want to make a payment", "i want to make a payment"),
        # ... while the lexicon's translations still apply, and Indonesian is unchanged.
        ("how much for 3 programs", "how much for 3 program"),
        ("sy can mayar", "saya belum bayar"),
        ("kumaha carana daptar", "bagaimana caranya daftar"),
    ],
)
def test_normaliser_leaves_english_words_english(text: str, normalised: str) -> None:
    assert normalize(text) == normalised
