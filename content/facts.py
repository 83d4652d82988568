"""The programme's facts, loaded once from facts.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

FACTS_PATH = Path(__file__).parent / "facts.yaml"


@dataclass(frozen=True, slots=True)
class ReliefWindow:
    start: date
    end: date

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@cache
def load_facts() -> dict[str, Any]:
    with FACTS_PATH.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def relief_window(transport: bool) -> ReliefWindow:
    window = load_facts()["relief"]["windows"]["transport" if transport else "other"]
    return ReliefWindow(start=window["start"], end=window["end"])
