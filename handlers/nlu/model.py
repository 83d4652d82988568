"""A trained linear classifier reduced to plain arrays, so predicting needs numpy and not scikit-learn.

Importing scikit-learn takes longer than the whole start-up budget of `bpu-bot chat`; the arrays
below reproduce its TF-IDF (sublinear tf, l2 norm) and multinomial logistic regression exactly
(tests/nlu/test_classifier.py checks that), and load from a cache file in milliseconds.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handlers.nlu.features import extract

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class LinearModel:
    classes: tuple[str, ...]
    index: dict[str, int]  # feature -> column
    idf: np.ndarray  # (n_features,)
    coef: np.ndarray  # (n_classes, n_features)
    intercept: np.ndarray  # (n_classes,)
    vocabulary: tuple[str, ...]  # words of the training phrases, most frequent first, for the normaliser

    def probabilities(self, normalized: str) -> np.ndarray:
        counts = Counter(f for f in extract(normalized) if f in self.index)
        logits = self.intercept.copy()
        if counts:
            columns = np.fromiter((self.index[f] for f in counts), dtype=np.intp, count=len(counts))
            tf = np.fromiter((1.0 + math.log(n) for n in counts.values()), np.float64, len(counts))
            weights = tf * self.idf[columns]
            weights /= np.linalg.norm(weights)
            logits += self.coef[:, columns] @ weights
        logits -= logits.max()
        exp = np.exp(logits)
        return exp / exp.sum()

    def save(self, path: Path) -> None:
        features = sorted(self.index, key=self.index.__getitem__)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                format=np.array(FORMAT_VERSION),
                classes=np.array(self.classes),
                features=np.array(features),
                idf=self.idf,
                coef=self.coef,
                intercept=self.intercept,
                vocabulary=np.array(self.vocabulary),
            )
        tmp.replace(path)  # atomic, so a concurrent start never reads half a file

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: model format {int(data['format'])}, expected {FORMAT_VERSION}")
            features = data["features"].tolist()
            return cls(
                classes=tuple(data["classes"].tolist()),
                index={f: i for i, f in enumerate(features)},
                idf=data["idf"],
                coef=data["coef"],
                intercept=data["intercept"],
                vocabulary=tuple(data["vocabulary"].tolist()),
            )
