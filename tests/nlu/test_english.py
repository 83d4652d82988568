"""English at parity (issue 13, item 5): the English a worker writes is understood as well as Indonesian.

tests/nlu/data/english.csv is an evaluation set written apart from the training phrases (other
wording, none of its messages in content/intents); production trains on content/intents only.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from handlers.nlu import INTENTS
from handlers.nlu.classifier import IntentClassifier, is_confident
from handlers.nlu.evaluate import cross_validate, evaluate, read_labelled
from handlers.nlu.language import EN, detect
from handlers.nlu.resources import load_training

ENGLISH = Path(__file__).parent / "data" / "english.csv"


@pytest.fixture(scope="module")
def english() -> list[tuple[str, str]]:
    return read_labelled(ENGLISH)


def test_the_english_set_covers_every_intent_and_is_not_trained_on(english: list[tuple[str, str]]) -> None:
    assert len(english) >= 160
    assert {intent for _, intent in english} == set(INTENTS)
    trained = {phrase for phrase, _ in load_training()}
    assert [text for text, _ in english if " ".join(text.casefold().split()) in trained] == []


def test_english_training_phrases_cover_every_intent() -> None:
    english = Counter(intent for phrase, intent in load_training() if detect(phrase) == EN)
    assert sum(english.values()) >= 300
    assert set(english) == set(INTENTS)
    assert min(english.values()) >= 10


def test_content_alone_understands_english(classifier: IntentClassifier, english: list[tuple[str, str]]) -> None:
    report = evaluate(classifier, english)
    assert report.accuracy >= 0.92
    assert report.per_intent["out_of_scope"]["recall"] >= 0.85


def test_five_fold_cross_validation_on_english(english: list[tuple[str, str]]) -> None:
    report = cross_validate(english, load_training(), folds=5)
    assert report.accuracy >= 0.92
    assert report.per_intent["out_of_scope"]["recall"] >= 0.85


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("how much do I pay per month if I earn 3 million", "contribution"),
        ("what happens if I die", "benefit_jkm"),
        ("how do I pay", "payment"),
        ("can i take my jht money when i stop working", "benefit_jht"),
        ("i want to talk to a person", "human"),
        ("how do I register for bpjs kesehatan", "out_of_scope"),
    ],
)
def test_issue_examples_in_english(classifier: IntentClassifier, text: str, intent: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.intent == intent
    assert is_confident(prediction)
