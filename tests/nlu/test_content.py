from __future__ import annotations

from pathlib import Path

import pytest

from handlers.nlu import INTENTS
from handlers.nlu.resources import ContentError, load_lexicon, load_numbers, load_training


def test_every_intent_has_rich_training_phrases() -> None:
    pairs = load_training()
    for intent in INTENTS:
        assert sum(i == intent for _, i in pairs) >= 80, intent


def test_lexicon_and_numbers_load() -> None:
    lexicon = load_lexicon()
    assert lexicon.words["gmn"] == "bagaimana"
    assert load_numbers()["units"]["jt"] == 1_000_000


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("words:\n  no: nomor\n", "not text"),  # YAML reads `no` as False
        ("words:\n  gmn: bagaimana\n  gmn: gimana\n", "duplicate key"),
        ("words:\n  a: b\n  b: a\n", "cycle"),
    ],
)
def test_lexicon_mistakes_are_refused(tmp_path: Path, yaml_text: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ContentError, match=message):
        load_lexicon(tmp_path)


@pytest.mark.parametrize(
    "yaml_text",
    ["intent: nonsense\nexamples: [halo]\n", "intent: opt_out\nexamples: [stop, off]\n", "intent: greet\n"],
)
def test_training_mistakes_are_refused(tmp_path: Path, yaml_text: str) -> None:
    (tmp_path / "bad.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ContentError):
        load_training(tmp_path)
