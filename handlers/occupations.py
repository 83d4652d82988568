"""Occupation categories from content/occupations.yaml."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

PATH = Path(__file__).resolve().parent.parent / "content" / "occupations.yaml"


@cache
def categories() -> tuple[dict[str, Any], ...]:
    with PATH.open(encoding="utf-8") as fh:
        return tuple(yaml.safe_load(fh))


def by_key(key: str | None) -> dict[str, Any] | None:
    return next((c for c in categories() if c["key"] == key), None)


def is_transport(key: str | None) -> bool | None:
    """True/False for a known occupation; None when the worker has not said."""
    category = by_key(key)
    return None if category is None else bool(category["transport"])


def label(key: str | None, lang: str) -> str | None:
    category = by_key(key)
    return None if category is None else str(category.get(lang) or category["id"])
