"""The default intent matcher: normaliser + linear model trained from content/intents/.

Start-up loads the trained arrays from a cache file keyed by a hash of the content and of the
code that shapes the model; when the file is missing or stale it trains (scikit-learn, about a
second) and writes the cache for the next start. Below `LOW_CONFIDENCE` the engine should not
act on `intent` but offer `suggestions(prediction)` as buttons.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from handlers.nlu import Prediction
from handlers.nlu.model import FORMAT_VERSION, LinearModel
from handlers.nlu.normalize import Normalizer
from handlers.nlu.resources import Lexicon, content_files, content_hash, load_lexicon, load_training

log = logging.getLogger(__name__)

# Chosen by five-fold cross-validation over the dev set (`bpu-bot nlu test FILE --cv`): at 0.5 the
# bot answers 98.9% of the messages directly and 99.6% of those answers are right, and no
# out-of-scope message gets a confident in-scope answer; below it, wrong guesses dominate.
LOW_CONFIDENCE = 0.5

# Intents that are not a topic a worker can pick from a menu of guesses.
_NOT_TOPICS = frozenset({"greet", "thanks_bye", "out_of_scope"})

# Code whose change must invalidate a cached model, besides the content files.
_MODEL_CODE = ("features.py", "normalize.py", "language.py", "training.py", "model.py", "resources.py")


# Short messages repeat across workers ("halo", "makasih", "iya", "menu"): their predictions are
# kept, the most recent RECENT_SIZE of them. Long ones rarely repeat and may carry personal data.
RECENT_LENGTH = 40
RECENT_SIZE = 4096


class IntentClassifier:
    """Implements `IntentMatcher`."""

    def __init__(self, model: LinearModel, lexicon: Lexicon) -> None:
        self._model = model
        self._normalize = Normalizer(lexicon, model.vocabulary)
        self._recent: OrderedDict[str, Prediction] = OrderedDict()

    def predict(self, text: str) -> Prediction:
        keep = isinstance(text, str) and len(text) <= RECENT_LENGTH
        if keep and (known := self._recent.get(text)) is not None:
            self._recent.move_to_end(text)
            return known
        prediction = self._predict(text)
        if keep:
            self._recent[text] = prediction
            if len(self._recent) > RECENT_SIZE:
                self._recent.popitem(last=False)
        return prediction

    def _predict(self, text: str) -> Prediction:
        # The engine calls this on every message; whatever a message contains, a crash here
        # would lose the worker's turn, so any failure becomes "not understood".
        try:
            probabilities = self._model.probabilities(self._normalize(text if isinstance(text, str) else ""))
        except Exception:
            log.exception("intent prediction failed")
            return Prediction("out_of_scope", 0.0, ())
        ranking = tuple(
            sorted(
                ((c, float(p)) for c, p in zip(self._model.classes, probabilities, strict=True)),
                key=lambda cp: -cp[1],
            )
        )
        return Prediction(ranking[0][0], ranking[0][1], ranking)


def is_confident(prediction: Prediction, threshold: float = LOW_CONFIDENCE) -> bool:
    return prediction.confidence >= threshold


def suggestions(prediction: Prediction, limit: int = 3) -> tuple[str, ...]:
    """The likeliest topics to offer as buttons when the bot is not confident."""
    return tuple(intent for intent, _ in prediction.ranking if intent not in _NOT_TOPICS)[:limit]


def train_classifier(pairs: Sequence[tuple[str, str]], lexicon: Lexicon | None = None) -> IntentClassifier:
    from handlers.nlu.training import fit

    lexicon = lexicon or load_lexicon()
    return IntentClassifier(fit(pairs, lexicon), lexicon)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bpu-bot"


def _cache_path() -> Path:
    here = Path(__file__).parent
    code = hashlib.sha256(b"".join((here / name).read_bytes() for name in _MODEL_CODE)).hexdigest()
    return cache_dir() / f"nlu-{content_hash(content_files(), f'{FORMAT_VERSION}:{code}')}.npz"


def _load_or_train(path: Path, lexicon: Lexicon) -> LinearModel:
    try:
        return LinearModel.load(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring unreadable NLU cache %s: %s", path, exc)
    from handlers.nlu.training import fit

    model = fit(load_training(), lexicon)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("nlu-*.npz"):
            old.unlink(missing_ok=True)
        model.save(path)
    except OSError as exc:  # a read-only home still gets a working bot, only a slower start
        log.warning("could not write NLU cache %s: %s", path, exc)
    return model


@lru_cache(maxsize=1)
def load_default() -> IntentClassifier:
    lexicon = load_lexicon()
    return IntentClassifier(_load_or_train(_cache_path(), lexicon), lexicon)
