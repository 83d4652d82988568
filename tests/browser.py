"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright
(no browser download), the skip that says how to enable it, and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
# `pytestmark = BROWSER` in a module of browser tests.
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="browser tests need Debian's chromium: apt-get install chromium (.ci/run does it)",
    ),
]
_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def launch(playwright: Any) -> Any:
    """A headless Chromium from a `sync_playwright()` (or async) instance."""
    ARTIFACTS.mkdir(exist_ok=True)
    return playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
