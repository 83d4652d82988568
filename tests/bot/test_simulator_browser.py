"""The simulator in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.bot.test_run import BIN, free_port, wait_for

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="browser tests need Debian's chromium: apt-get install chromium (.ci/run does it)",
    ),
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "_artifacts"


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(BPU_HTTP_PORT=str(port), BPU_DATABASE_URL=f"sqlite:///{tmp_path / 'sim.db'}")
    proc = subprocess.Popen([str(BIN), "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(f"http://127.0.0.1:{port}/healthz", proc)
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)


def test_a_worker_chats_in_the_browser(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": 360, "height": 740})
        page.goto(f"{server}/simulator")
        page.fill("#text", "berapa iuran minimal?")
        page.keyboard.press("Enter")
        expect(page.locator(".bubble.bot").first).to_contain_text("Rp16.800")
        page.fill("#text", "<script>alert(1)</script> {{ 7*7 }}")
        page.keyboard.press("Enter")
        expect(page.locator(".bubble.me").last).to_have_text("<script>alert(1)</script> {{ 7*7 }}")
        page.fill("#text", "halo")
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Daftar", exact=True).last.click()
        expect(page.locator(".bubble.bot").last).to_contain_text("setuju")
        page.screenshot(path=str(ARTIFACTS / "simulator-360.png"), full_page=True)
        browser.close()
