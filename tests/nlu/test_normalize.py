from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.nlu.normalize import MAX_CHARS, Normalizer, normalize
from handlers.nlu.resources import load_lexicon


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gmn cara daftar", "bagaimana cara daftar"),
        ("iuran brp kak", "iuran berapa kak"),
        ("kumaha carana daptar", "bagaimana caranya daftar"),
        ("pira bayare", "berapa bayarnya"),
        ("pagiii", "pagi"),
        ("halooo!!!", "halo"),
        ("daaaa", "dadah"),
        ("sy ojol bisa ikut ga", "saya ojol bisa ikut tidak"),
        ("admin tolong dibales", "admin tolong dibalas"),
        ("Halo 😊", "halo"),
        ("👍", "oke"),
        ("kirim2 lg", "kirim kirim lagi"),
        ("tebak2an", "tebak tebakan"),
        ("16rb", "16 ribu"),
        ("Rp 2.000.000", "rupiah 2000000"),
        ("hatur nuhun", "terima kasih"),
        ("matur nuwun mas", "terima kasih kak"),
        ("kalo aku mati anak bojoku entuk opo", "kalau saya meninggal anak istri saya dapat apa"),
        ("Cairin di bank bisa kagaaa??????", "cairkan di bank bisa tidak"),
        ("BPJSTK", "bpjs ketenagakerjaan"),
        ("", ""),
        ("   \n\t ", ""),
    ],
)
def test_lexicon_and_rules(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("iuranna sabaraha", "iurannya berapa"),  # Sundanese suffix on a known word
        ("pendaftran", "pendaftaran"),  # typo
        ("pmbyrn", "pembayaran"),  # vowels dropped
        ("persen", "persen"),  # a correct word is never "corrected"
    ],
)
def test_vocabulary_rules(text: str, expected: str) -> None:
    normalizer = Normalizer(load_lexicon(), ["iuran", "pendaftaran", "pembayaran", "persen", "pesan"])
    assert normalizer(text) == expected


def test_long_message_is_cut() -> None:
    assert len(normalize("daftar " * 5000).split()) <= MAX_CHARS


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_and_yields_plain_words(text: str) -> None:
    out = normalize(text)
    assert out == out.strip()
    assert "  " not in out
