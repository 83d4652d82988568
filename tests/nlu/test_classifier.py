from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.nlu import INTENTS, IntentMatcher, Prediction
from handlers.nlu import classifier as clf
from handlers.nlu.classifier import LOW_CONFIDENCE, IntentClassifier, is_confident, suggestions
from handlers.nlu.model import LinearModel
from handlers.nlu.resources import load_lexicon, load_training
from handlers.nlu.training import fit_estimators


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("gmn cara daftar", "register"),
        ("iuran brp kak", "contribution"),
        ("kumaha carana daptar", "register"),
        ("pira bayare", "contribution"),
        ("pagiii", "greet"),
        ("sy ojol bisa ikut ga", "eligibility"),
        ("admin tolong dibales", "human"),
        ("bpjs kesehatan sy nunggak", "out_of_scope"),
        ("stop kirim pesan", "opt_out"),
        ("hapus data sy", "delete_data"),
    ],
)
def test_issue_examples(classifier: IntentClassifier, text: str, intent: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.intent == intent
    assert is_confident(prediction)


def test_ranking_is_complete_and_ordered(classifier: IntentClassifier) -> None:
    prediction = classifier.predict("iuran brp")
    assert {i for i, _ in prediction.ranking} == set(INTENTS)
    scores = [p for _, p in prediction.ranking]
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0)
    assert (prediction.intent, prediction.confidence) == prediction.ranking[0]


def test_low_confidence_path(classifier: IntentClassifier) -> None:
    # A bare question word says nothing about the topic: the bot must not guess.
    prediction = classifier.predict("gmn")
    assert prediction.confidence < LOW_CONFIDENCE
    assert not is_confident(prediction)
    offered = suggestions(prediction)
    assert len(offered) == 3
    assert not {"greet", "thanks_bye", "out_of_scope"} & set(offered)
    assert list(offered) == [i for i, _ in prediction.ranking if i in offered]


def test_is_confident_threshold() -> None:
    assert is_confident(Prediction("greet", LOW_CONFIDENCE))
    assert not is_confident(Prediction("greet", LOW_CONFIDENCE - 0.01))
    assert is_confident(Prediction("greet", 0.3), threshold=0.2)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🙏🙏",
        "\x00\x01\x1b[31m",
        "مرحبا كيف حالك",
        "\u202edlrow olleh",
        "a" * 10_000,
        "kk " * 5000,
        "0" * 5000,
    ],
)
def test_odd_input(classifier: IntentClassifier, text: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.intent in INTENTS
    assert 0.0 <= prediction.confidence <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises(classifier: IntentClassifier, text: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.intent in INTENTS
    assert 0.0 <= prediction.confidence <= 1.0


def test_arrays_reproduce_scikit_learn() -> None:
    """The numpy-only runtime must give exactly the probabilities of the fitted estimators."""
    pairs = load_training()
    fitted = fit_estimators(pairs, load_lexicon())
    model = LinearModel(
        classes=tuple(fitted.svm.classes_),
        index=dict(fitted.vectorizer.vocabulary_),
        idf=fitted.vectorizer.idf_,
        coef=fitted.svm.coef_ * fitted.temperature,
        intercept=fitted.svm.intercept_ * fitted.temperature,
        vocabulary=fitted.vocabulary,
    )
    texts = [fitted.normalizer(t) for t in ("iuran brp kak", "kumaha carana daptar", "zzz", "", "stop stop")]
    logits = fitted.svm.decision_function(fitted.vectorizer.transform(texts)) * fitted.temperature
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    for text, row in zip(texts, expected, strict=True):
        np.testing.assert_allclose(model.probabilities(text), row, rtol=1e-9, atol=1e-12)


def test_cache_is_written_then_used(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    clf.load_default.cache_clear()
    try:
        first: IntentMatcher = clf.load_default()
        cached = list((tmp_path / "bpu-bot").glob("nlu-*.npz"))
        assert len(cached) == 1
        clf.load_default.cache_clear()

        def no_training(*args, **kwargs):
            raise AssertionError("trained again although the cache is fresh")

        monkeypatch.setattr("handlers.nlu.training.fit", no_training)
        second = clf.load_default()
        assert second.predict("iuran brp") == first.predict("iuran brp")
    finally:
        clf.load_default.cache_clear()


def test_corrupt_cache_is_retrained(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = clf._cache_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a model")
    clf.load_default.cache_clear()
    try:
        assert clf.load_default().predict("mau daftar").intent == "register"
        assert LinearModel.load(path).classes  # rewritten
    finally:
        clf.load_default.cache_clear()


def test_short_messages_are_remembered_and_the_memory_is_bounded(
    classifier: IntentClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clf, "RECENT_SIZE", 3)
    fresh = IntentClassifier(classifier._model, load_lexicon())
    computed: list[str] = []
    real = fresh._predict
    monkeypatch.setattr(fresh, "_predict", lambda text: computed.append(text) or real(text))
    first = fresh.predict("halo")
    assert fresh.predict("halo") == first and computed == ["halo"]  # the second one is remembered
    long = "saya mau tanya soal iuran bulanan untuk ojek online di serang"
    fresh.predict(long)
    fresh.predict(long)
    assert computed.count(long) == 2  # long messages are not kept (rarely repeated, may be personal)
    for text in ("a", "b", "c"):
        fresh.predict(text)
    fresh.predict("halo")
    assert computed.count("halo") == 2  # pushed out by three newer ones: at most RECENT_SIZE kept
