"""The simulator in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), on a
360x740 phone viewport: one server and one browser for the module, a fresh profile per test."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, BROWSER, launch
from tests.processes import BIN, free_port, wait_for

pytestmark = BROWSER
PHONE = {"width": 360, "height": 740}
Server = tuple[str, Path]  # the simulator's base URL, its database file


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("sim")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WHATSAPP_"))}
    env.update(BPU_HTTP_PORT=str(port), BPU_DATABASE_URL=f"sqlite:///{tmp / 'sim.db'}")
    quiet = subprocess.DEVNULL
    proc = subprocess.Popen([str(BIN), "run"], cwd=tmp, env=env, stdout=quiet, stderr=quiet, text=True)
    wait_for(f"http://127.0.0.1:{port}/healthz", proc)
    yield f"http://127.0.0.1:{port}", tmp / "sim.db"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE)  # a fresh profile: empty localStorage
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _in_view(page: Any, selector: str) -> None:
    """The element is wholly on screen and above the input bar (not under it)."""
    box = page.locator(selector).last.bounding_box()
    bar = page.locator("form#send").bounding_box()
    assert box is not None and bar is not None
    assert box["y"] >= 0 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["y"] + box["height"] <= bar["y"], (box, bar)
    assert bar["y"] + bar["height"] <= PHONE["height"] + 0.5, bar


def test_a_worker_chats_in_the_browser(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{server[0]}/simulator")
    page.fill("#text", "berapa iuran minimal?")
    page.keyboard.press("Enter")
    expect(page.locator(".bubble.me ~ .bubble.bot").filter(has_text="Rp16.800").first).to_be_visible()
    page.fill("#text", "<script>alert(1)</script> {{ 7*7 }}")
    page.keyboard.press("Enter")
    expect(page.locator(".bubble.me").last).to_have_text("<script>alert(1)</script> {{ 7*7 }}")
    page.fill("#text", "halo")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Daftar", exact=True, disabled=False).click()  # the newest answer's
    expect(page.locator(".bubble.bot").last).to_contain_text("setuju")
    page.screenshot(path=str(ARTIFACTS / "simulator-360.png"), full_page=True)


def test_greeted_on_open_history_kept_on_reload_newest_buttons_seen(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server[0]}/simulator")
    expect(page.locator(".bubble.bot").first).to_contain_text("Halo")  # nothing typed
    expect(page.locator(".bubble.me")).to_have_count(0)
    _in_view(page, ".buttons button")

    page.fill("#text", "berapa iuran minimal?")
    page.keyboard.press("Enter")
    expect(page.locator(".bubble.me ~ .bubble.bot").filter(has_text="Rp16.800").first).to_be_visible()
    expect(page.locator(".buttons").last.locator("button").first).to_be_enabled()
    _in_view(page, ".buttons button")
    said = page.locator(".bubble").all_inner_texts()

    page.reload()
    expect(page.locator(".bubble")).to_have_count(len(said))  # the same conversation, no second greeting
    assert page.locator(".bubble").all_inner_texts() == said
    assert page.locator(".buttons").first.locator("button").first.is_disabled()  # the greeting's: older
    newest = page.locator(".buttons").last.locator("button")
    expect(newest.first).to_be_enabled()
    _in_view(page, ".buttons button")
    page.screenshot(path=str(ARTIFACTS / "simulator-360-reloaded.png"))

    label = newest.first.inner_text()  # read before the click: the answer brings newer buttons
    newest.first.click()  # still pressable after the reload, and the server goes on with it
    expect(page.locator(".bubble.me").last).to_have_text(label)
    expect(page.locator(".bubble").nth(len(said) + 1)).to_be_visible()  # its answer (all at once)
    _in_view(page, "#log > :last-child")


def test_language_switch_and_a_campaign_link(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    url, database = server
    page.goto(f"{url}/simulator?start=pasar-rau")  # as t.me/<bot>?start=pasar-rau
    expect(page.locator(".bubble.bot").first).to_contain_text("Halo")
    assert page.url == f"{url}/simulator"  # a reload does not send it again
    english = page.get_by_role("button", name="EN", exact=True)
    expect(english).to_have_attribute("aria-pressed", "false")
    english.click()
    expect(page.locator(".bubble.bot").last).to_contain_text("English")
    expect(english).to_have_attribute("aria-pressed", "true")
    page.fill("#text", "how much is the minimum contribution?")
    page.keyboard.press("Enter")
    expect(page.locator(".bubble.bot").last).to_contain_text("month")
    page.reload()
    expect(page.get_by_role("button", name="EN", exact=True)).to_have_attribute("aria-pressed", "true")

    user = page.evaluate("localStorage.getItem('bpu-sim-user')")
    with sqlite3.connect(database) as conn:
        query = "SELECT campaign_code, language FROM contacts WHERE external_id = ?"
        row = conn.execute(query, (user,)).fetchone()
    assert row == ("pasar-rau", "en")
