"""Measuring the intent matcher: a labelled CSV, per-intent metrics, confusions, cross-validation.

Cross-validation never tests a message the model was trained on: each fold trains on the content
phrases plus four fifths of the file and predicts the remaining fifth.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.nlu import IntentMatcher, Prediction
from handlers.nlu.classifier import LOW_CONFIDENCE, train_classifier
from handlers.nlu.resources import load_lexicon

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True, slots=True)
class Report:
    accuracy: float
    per_intent: dict[str, dict[str, float]]  # intent -> precision, recall, f1, support
    confusions: list[dict[str, Any]]  # {"expected", "predicted", "count"}, largest first
    total: int
    # How the low-confidence path behaves at `threshold`: share answered, accuracy of those
    # answers, and share of out-of-scope messages either recognised or not guessed at.
    low_confidence: dict[str, float] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    # How many messages the bot answers each message with (bot.cli_nlu.messages_per_answer):
    # {"average", "distribution": {messages: answers}, "whatsapp": the same as WhatsApp sends them}.
    messages_per_answer: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = {
            "accuracy": self.accuracy,
            "per_intent": self.per_intent,
            "confusions": self.confusions,
            "total": self.total,
            "low_confidence": self.low_confidence,
        }
        if self.messages_per_answer:
            out["messages_per_answer"] = self.messages_per_answer
        return out


def read_labelled(path: Path) -> list[tuple[str, str]]:
    """Rows of a CSV with columns `text,intent` (others ignored)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"text", "intent"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs a header with columns text,intent")
        return [(row["text"] or "", (row["intent"] or "").strip()) for row in reader]


def score(rows: Sequence[tuple[str, str]], predictions: Sequence[Prediction], threshold: float) -> Report:
    truth = [intent for _, intent in rows]
    guess = [p.intent for p in predictions]
    total = len(rows)
    right = sum(t == g for t, g in zip(truth, guess, strict=True))
    per_intent: dict[str, dict[str, float]] = {}
    for intent in sorted(set(truth) | set(guess)):
        tp = sum(t == g == intent for t, g in zip(truth, guess, strict=True))
        predicted = guess.count(intent)
        support = truth.count(intent)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    pairs = Counter((t, g) for t, g in zip(truth, guess, strict=True) if t != g)
    confusions = [{"expected": t, "predicted": g, "count": n} for (t, g), n in pairs.most_common()]
    answered = [(t, p) for t, p in zip(truth, predictions, strict=True) if p.confidence >= threshold]
    oos = [p for t, p in zip(truth, predictions, strict=True) if t == OUT_OF_SCOPE]
    low_confidence = {
        "threshold": threshold,
        "answered": len(answered) / total if total else 0.0,
        "answered_accuracy": sum(t == p.intent for t, p in answered) / len(answered) if answered else 0.0,
        "out_of_scope_not_misanswered": (
            sum(p.intent == OUT_OF_SCOPE or p.confidence < threshold for p in oos) / len(oos) if oos else 0.0
        ),
    }
    errors = [
        {"text": text, "expected": t, "predicted": p.intent, "confidence": round(p.confidence, 3)}
        for (text, t), p in zip(rows, predictions, strict=True)
        if t != p.intent
    ]
    return Report(right / total if total else 0.0, per_intent, confusions, total, low_confidence, errors)


def evaluate(matcher: IntentMatcher, rows: Sequence[tuple[str, str]], threshold: float = LOW_CONFIDENCE) -> Report:
    return score(rows, [matcher.predict(text) for text, _ in rows], threshold)


def cross_validate(
    rows: Sequence[tuple[str, str]],
    content: Sequence[tuple[str, str]],
    folds: int = 5,
    seed: int = 0,
    threshold: float = LOW_CONFIDENCE,
) -> Report:
    from sklearn.model_selection import StratifiedKFold

    lexicon = load_lexicon()
    labels = [intent for _, intent in rows]
    predictions: list[Prediction | None] = [None] * len(rows)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, labels):
        matcher = train_classifier([*content, *(rows[i] for i in train)], lexicon)
        for i in test:
            predictions[i] = matcher.predict(rows[i][0])
    return score(rows, [p for p in predictions if p is not None], threshold)


def format_report(report: Report, title: str, confusions: int = 10, errors: int = 20) -> str:
    lines = [
        title,
        f"accuracy {report.accuracy:.3f} over {report.total} messages",
    ]
    if report.messages_per_answer:
        lines.append(format_messages_per_answer(report.messages_per_answer))
    lines += [
        "",
        f"{'intent':<18} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}",
    ]
    for intent, m in report.per_intent.items():
        lines.append(f"{intent:<18} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {int(m['support']):>8}")
    lc = report.low_confidence
    if lc:
        lines += [
            "",
            f"confidence >= {lc['threshold']:.2f}: {lc['answered']:.1%} answered, "
            f"{lc['answered_accuracy']:.1%} of them right; out-of-scope recognised or not guessed: "
            f"{lc['out_of_scope_not_misanswered']:.1%}",
        ]
    if report.confusions:
        lines += ["", "largest confusions (expected -> predicted: count)"]
        for c in report.confusions[:confusions]:
            lines.append(f"  {c['expected']} -> {c['predicted']}: {c['count']}")
    if report.errors:
        lines += ["", f"misrecognised messages (first {errors})"]
        for e in report.errors[:errors]:
            lines.append(f"  {e['expected']} -> {e['predicted']} ({e['confidence']:.2f}): {e['text'][:80]}")
    return "\n".join(lines)


def format_messages_per_answer(m: dict[str, Any]) -> str:
    """ "messages per answer 1.04 (1: 450, 2: 19); on WhatsApp 1.06 (1: 441, 2: 28)"."""

    def one(part: dict[str, Any]) -> str:
        spread = ", ".join(f"{n}: {count}" for n, count in part["distribution"].items())
        return f"{part['average']:.2f} ({spread})"

    line = f"messages per answer {one(m)}"
    return f"{line}; on WhatsApp {one(m['whatsapp'])}" if "whatsapp" in m else line
