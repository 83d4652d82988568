"""Reading the NLU content: the lexicon (content/lexicon/) and the training phrases (content/intents/).

Both are edited by staff, so loading is strict: a duplicate key, a value YAML read as a
boolean or a number ("off", "no", "175"), or an unknown intent raises `ContentError`
naming the file, instead of silently changing what the bot understands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from handlers.nlu import INTENTS

CONTENT_DIR = Path(__file__).resolve().parents[2] / "content"
INTENTS_DIR = CONTENT_DIR / "intents"
LEXICON_DIR = CONTENT_DIR / "lexicon"

# Chains ("bgt" -> "banget" -> "sangat") are followed this deep; deeper means a cycle.
_MAX_CHAIN = 5


class ContentError(ValueError):
    pass


# libyaml's parser when available: the lexicon is read at every start-up.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ContentError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except (ContentError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: {exc}") from exc


def _text(value: Any, path: Path, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{path}: {what} {value!r} is not text; quote it in the YAML")
    return " ".join(value.casefold().split())


def _text_map(raw: Any, path: Path, section: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ContentError(f"{path}: `{section}` must be a mapping")
    return {_text(k, path, f"{section} key"): _text(v, path, f"value of {k!r}") for k, v in raw.items()}


@dataclass(frozen=True, slots=True)
class Lexicon:
    words: dict[str, str]  # a word or short phrase -> its plain-Indonesian replacement
    suffixes: dict[str, str]  # regional suffix -> Indonesian suffix, longest first
    emoji: dict[str, str]

    @property
    def max_phrase(self) -> int:
        return max((key.count(" ") + 1 for key in self.words), default=1)


def _merge(target: dict[str, str], extra: dict[str, str], path: Path) -> None:
    for key, value in extra.items():
        if target.get(key, value) != value:
            raise ContentError(f"{path}: {key!r} -> {value!r} contradicts {target[key]!r} in another file")
        target[key] = value


def _resolve_chains(words: dict[str, str]) -> dict[str, str]:
    """Make replacements final, so staff can map a new spelling to any known one."""

    def final(word: str, depth: int) -> str:
        nxt = words.get(word)
        if nxt is None or nxt == word:
            return word
        if depth >= _MAX_CHAIN:
            raise ContentError(f"lexicon: replacement cycle through {word!r}")
        return " ".join(final(part, depth + 1) for part in nxt.split())

    return {key: " ".join(final(part, 0) for part in value.split()) for key, value in words.items()}


def load_lexicon(directory: Path = LEXICON_DIR) -> Lexicon:
    words: dict[str, str] = {}
    suffixes: dict[str, str] = {}
    emoji: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = read_yaml(path) or {}
        if not isinstance(data, dict):
            raise ContentError(f"{path}: expected a mapping of sections")
        _merge(words, _text_map(data.get("words"), path, "words"), path)
        # Suffix values may start with a space (`ku: " saya"`), so they are not re-spaced.
        raw_suffixes = data.get("suffixes") or {}
        for key, value in raw_suffixes.items():
            _text(key, path, "suffix")
            if not isinstance(value, str):
                raise ContentError(f"{path}: suffix value {value!r} is not text")
            suffixes[key.casefold()] = value.casefold()
        _merge(emoji, _text_map(data.get("emoji"), path, "emoji"), path)
    ordered = dict(sorted(suffixes.items(), key=lambda kv: -len(kv[0])))
    return Lexicon(words=_resolve_chains(words), suffixes=ordered, emoji=emoji)


def load_numbers(directory: Path = LEXICON_DIR) -> dict[str, dict[str, int]]:
    """numbers.yaml: {"numbers": {...}, "scales": {...}, "units": {...}}, every value an int."""
    path = directory / "numbers.yaml"
    data = read_yaml(path) or {}
    out: dict[str, dict[str, int]] = {}
    for section in ("numbers", "scales", "units"):
        raw = data.get(section) or {}
        for key, value in raw.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise ContentError(f"{path}: {section}.{key} must be an integer")
        out[section] = {_text(k, path, section): v for k, v in raw.items()}
    return out


def load_training(directory: Path = INTENTS_DIR) -> list[tuple[str, str]]:
    """(phrase, intent) pairs from every content/intents/*.yaml (`intent:` and `examples:`)."""
    pairs: list[tuple[str, str]] = []
    for path in sorted(directory.glob("*.yaml")):
        data = read_yaml(path)
        if not isinstance(data, dict) or data.get("intent") not in INTENTS:
            raise ContentError(f"{path}: needs `intent:` (one of {', '.join(INTENTS)}) and `examples:`")
        examples = data.get("examples")
        if not isinstance(examples, list) or not examples:
            raise ContentError(f"{path}: `examples:` must be a non-empty list")
        pairs.extend((_text(e, path, "example"), data["intent"]) for e in examples)
    return pairs


def content_hash(paths: Iterable[Path], salt: str) -> str:
    """Identifies one state of the content files (and code version `salt`) for the model cache."""
    digest = hashlib.sha256(salt.encode())
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def content_files() -> list[Path]:
    return sorted(INTENTS_DIR.glob("*.yaml")) + sorted(LEXICON_DIR.glob("*.yaml"))
