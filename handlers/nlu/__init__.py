"""Intent recognition behind a small interface, so the matcher can be replaced.

`IntentMatcher.predict(text)` returns a `Prediction`; the engine only reads
`intent`, `confidence` and `ranking`. `load_matcher()` builds the default one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

INTENTS: tuple[str, ...] = (
    "greet",
    "benefits_overview",
    "benefit_jkk",
    "benefit_jkm",
    "benefit_jht",
    "contribution",
    "eligibility",
    "register",
    "payment",
    "claim",
    "office_contact",
    "human",
    "opt_out",
    "delete_data",
    "thanks_bye",
    "out_of_scope",
)


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = field(default=())  # best first, all intents


class IntentMatcher(Protocol):
    def predict(self, text: str) -> Prediction:
        """Return the likeliest intent for `text` with a confidence in [0, 1]. Never raises."""
        ...


def load_matcher() -> IntentMatcher:
    from handlers.nlu.classifier import load_default

    return load_default()
