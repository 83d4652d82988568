"""Content rules: every template in both languages, no figure typed into a template."""

from __future__ import annotations

import re

import pytest
import yaml

from content.render import TEMPLATES, Renderer


def names(lang: str) -> set[str]:
    return {p.name for p in (TEMPLATES / lang).iterdir()}


def test_every_indonesian_template_has_an_english_one() -> None:
    assert names("id") == names("en")


def test_labels_have_the_same_keys_and_fit_a_whatsapp_button() -> None:
    ids = yaml.safe_load((TEMPLATES / "id" / "labels.yaml").read_text())
    ens = yaml.safe_load((TEMPLATES / "en" / "labels.yaml").read_text())
    assert set(ids) == set(ens)
    for key, label in [*ids.items(), *ens.items()]:
        if key.startswith("command_"):  # Telegram's command menu: 3 to 256 characters
            assert 3 <= len(label) <= 256, (key, label)
        elif not key.startswith("status_"):  # statuses are shown in text, not on buttons
            assert len(label) <= 20, (key, label)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_no_amount_or_percentage_is_typed_into_a_template(lang: str) -> None:
    money = re.compile(r"Rp\s?\d|\d+\s?%|\d{1,3}\.\d{3}")
    for path in (TEMPLATES / lang).glob("*.j2"):
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", path.read_text())
        assert not money.search(text), f"{path.name}: {money.search(text)}"


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize(
    "name",
    ["benefits_overview", "benefit_jkk", "benefit_jkm", "benefit_jht", "eligibility", "payment", "claim",
     "office_contact", "thanks_bye", "out_of_scope", "not_sure", "error", "deleted"],
)  # fmt: skip
def test_plain_answers_render_one_short_message(lang: str, name: str) -> None:
    text = Renderer().render(name, lang)
    assert text and "---" not in text and "{" not in text and "\n\n\n" not in text
    # One message: it fits a WhatsApp message with buttons (1,024), so it goes out as one.
    assert len(text) <= 1024, (name, len(text))
    for paragraph in text.split("\n\n"):
        assert len(paragraph) < 700, (name, len(paragraph))  # one idea per paragraph, on a small screen


def test_figures_come_from_facts() -> None:
    jkm = Renderer().render("benefit_jkm", "id")
    assert "Rp42 juta" in jkm and "Rp20 juta" in jkm and "Rp174 juta" in jkm
    jkk = Renderer().render("benefit_jkk", "id")
    assert "tanpa batas" in jkk and "48 x" in jkk and "56 x" in jkk


@pytest.mark.parametrize("lang", ["id", "en"])
def test_prepay_puts_each_sector_on_its_own_line(lang: str) -> None:
    totals = {"transport": {"total": 168000, "discounted": 4}, "others": {"total": 193200, "discounted": 1}}
    text = Renderer().render("contribution_prepay", lang, months=12, first="Desember 2026",
                             last="November 2027", programmes=2, income_known=False, income=1_000_000,
                             totals=totals, normal={"total": 16800})  # fmt: skip
    assert "---" not in text
    assert [line.startswith("• ") for line in text.splitlines()[1:3]] == [True, True], text
