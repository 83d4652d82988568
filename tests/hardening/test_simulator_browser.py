"""Issue 14.9 in a browser: the simulator still works under its Content-Security-Policy.

Its inline script and style are allowed by hash; a CSP that missed them would leave a page
that looks fine and answers nothing. Headless Chromium (Debian's) against a real `bpu-bot run`.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import BROWSER, launch
from tests.conftest import TEST_SECRET
from tests.processes import BIN, free_port, wait_for

pytestmark = BROWSER


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("sim")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_", "BPU_"))}
    env.update(BPU_HTTP_PORT=str(port), BPU_DATABASE_URL=f"sqlite:///{tmp / 'sim.db'}", BPU_SECRET_KEY=TEST_SECRET)
    proc = subprocess.Popen([str(BIN), "run"], cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(f"http://127.0.0.1:{port}/healthz", proc)  # type: ignore[arg-type]
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


def test_the_simulator_answers_under_its_policy(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            response = page.goto(f"{server}/simulator")
            assert response is not None and "sha256-" in response.headers["content-security-policy"]
            page.fill("#text", "halo")
            page.click("form#send button")
            expect(page.locator(".bubble.bot").first).to_contain_text("BPJS", timeout=15_000)
            # The inline style applied too: the worker's own bubble is aligned right.
            assert page.locator(".bubble.me").first.evaluate("e => getComputedStyle(e).alignSelf") == "flex-end"
            assert violations == []
        finally:
            browser.close()
