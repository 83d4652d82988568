import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.redact import mask_nik, redact
from handlers.text import digits_only


def test_mask_nik_keeps_region_and_last_two() -> None:
    assert mask_nik("3673015508900001") == "3673**********01"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("nik saya 3673015508900001 ya", "3673015508900001"),
        ("hp 0812-3456-7890", "0812-3456-7890"),
        ("wa +62 812 3456 7890", "812 3456 7890"),
        ("rek bca 1234567890", "1234567890"),
        ("email budi.s@example.com", "budi.s@example.com"),
    ],
)
def test_personal_numbers_are_masked(text: str, hidden: str) -> None:
    assert hidden not in redact(text)


@pytest.mark.parametrize(
    "text", ["penghasilan 2 juta", "Rp 15.000.000", "call centre 175", "tahun 2026", "Rp1.500.000"]
)
def test_amounts_and_short_numbers_stay(text: str) -> None:
    assert redact(text) == text


# Text the way a NIK gets pasted: digits of any script, the separators a number is typed with,
# invisible characters, words around it.
_NUMBERISH = st.text(alphabet=st.sampled_from(list("0123456789") * 4 + list(" ./-\t") + ["\u200b", "\u2060", "３", "٣", "➎"]
                                              + list("abc+")), max_size=200)  # fmt: skip


def _sixteen_digit_run(text: str) -> str | None:
    """A 16-digit run in `text` read as the number readers read it: folded, separators dropped."""
    match = re.search(r"\d{16}", digits_only(text))
    return match.group(0) if match else None


@given(st.one_of(st.text(max_size=200), _NUMBERISH))
def test_redact_never_raises_and_never_leaks_a_sixteen_digit_run(text: str) -> None:
    out = redact(text)
    assert _sixteen_digit_run(out) is None, (text, out)


@given(st.from_regex(r"[1-9][0-9]{15}", fullmatch=True), st.text(alphabet="abc ", max_size=10))
def test_any_nik_in_text_is_masked(nik: str, around: str) -> None:
    assert nik not in redact(f"{around} {nik} {around}")
