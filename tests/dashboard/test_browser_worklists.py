"""The leads list on a 360 px phone in headless Chromium, served by a real `bpu-bot run`: the list
comes before the folded filters, each lead has a WhatsApp link beside its phone; and the visit list
prints without the dashboard's chrome."""

from __future__ import annotations

from tests.browser import ARTIFACTS, BROWSER
from tests.dashboard.browsing import login

pytestmark = BROWSER


def test_on_a_phone_the_list_comes_before_the_folded_filters(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context, page = login(browser, server, "Koor Kota", 360)
    page.goto(f"{server}/leads")
    first = page.locator("table.leads tr", has=page.locator("a.lead-name")).first
    panel = page.locator("details.filters-panel")
    expect(first).to_be_visible()
    expect(panel).not_to_have_attribute("open", "")
    expect(page.locator("select[name=area]")).to_be_hidden()  # folded
    list_box, panel_box = first.bounding_box(), panel.bounding_box()
    assert list_box is not None and panel_box is not None and list_box["y"] < panel_box["y"]
    assert list_box["x"] >= 0 and list_box["x"] + list_box["width"] <= 360  # fits the phone
    wa = first.locator('a[href^="https://wa.me/62"]')
    expect(wa).to_have_count(1)
    expect(first.locator('a[href^="tel:+62"]')).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "dashboard-worklist-360.png"), full_page=True)
    page.click("details.filters-panel summary")
    expect(page.locator("select[name=area]")).to_be_visible()
    page.click("nav.tabs >> text=Milik saya")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Milik saya")
    expect(page.locator("a.lead-name")).to_have_count(2)
    # The visit list, printed: no header, no form, black on white.
    page.goto(f"{server}/leads/visits")
    expect(page.locator(".visit-group")).to_have_count(1)
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("form.filters")).to_be_hidden()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    page.screenshot(path=str(ARTIFACTS / "dashboard-visits-print-360.png"), full_page=True)
    # A lead's page, printed: its facts, without the forms to change it.
    page.emulate_media(media="screen")
    page.goto(f"{server}/leads")
    page.click("text=Siti Kasemen")
    expect(page.locator("#status-form")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("#status-form")).to_be_hidden()
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("dl.facts")).to_be_visible()
    context.close()
