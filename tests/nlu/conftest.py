from __future__ import annotations

import pytest

from handlers.nlu.classifier import IntentClassifier, train_classifier
from handlers.nlu.resources import load_training


@pytest.fixture(scope="session")
def classifier() -> IntentClassifier:
    """The production model (content/intents only), trained once per test run."""
    return train_classifier(load_training())
