"""The staff page and bulk reassignment in headless Chromium, served by a real `bpu-bot run`
(issue 16 items 6 and 2): a coordinator made on a phone with areas picked by name and chat
contacts, a mistake that keeps what was typed, and ticked leads reassigned from the list."""

from __future__ import annotations

from tests.browser import ARTIFACTS, BROWSER
from tests.dashboard.browsing import login

pytestmark = BROWSER


def test_an_admin_adds_a_coordinator_on_a_phone(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context, page = login(browser, server, "Admin Cabang", 360)
    page.goto(f"{server}/staff")
    options = page.locator("#area-options option")
    assert "Kota Serang › Kasemen (367302)" in options.evaluate_all("os => os.map(o => o.value)")
    page.click("text=Tambah petugas")
    form = page.locator("#add-staff")
    form.locator("input[name=name]").fill("Rina Kasemen")
    form.locator("select[name=role]").select_option("coordinator")
    areas = form.locator("input[name=area]")
    expect(areas.first).to_have_attribute("list", "area-options")  # the searchable list of names
    areas.first.fill("Kota Serang › Kasemen (367302)")
    form.locator("input[name=telegram_id]").fill("5550001")
    form.locator("input[name=whatsapp]").fill("12345")  # not a number: the page says so, keeps the rest
    form.locator("input[name=password]").fill("sandi-rina-12345")
    form.locator("button[type=submit]").click()
    expect(page.locator("p.error")).to_contain_text("Nomor WhatsApp tidak sah")
    expect(form.locator("input[name=name]")).to_have_value("Rina Kasemen")
    expect(areas.first).to_have_value("Kota Serang › Kasemen (367302)")
    expect(form.locator("input[name=telegram_id]")).to_have_value("5550001")
    expect(form.locator("input[name=whatsapp]")).to_have_value("12345")
    page.screenshot(path=str(ARTIFACTS / "dashboard-staff-error-360.png"), full_page=True)
    form.locator("input[name=whatsapp]").fill("0812 5550 0010")
    form.locator("input[name=password]").fill("sandi-rina-12345")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{server}/staff*")
    row = page.locator("details.staff-row", has_text="Rina Kasemen")
    expect(row.locator("summary")).to_contain_text("Kasemen")
    row.locator("summary").click()
    expect(row.locator("input[name=whatsapp]")).to_have_value("+6281255500010")
    expect(row.locator("input[name=area]").first).to_have_value("Kota Serang › Kasemen (367302)")
    page.screenshot(path=str(ARTIFACTS / "dashboard-staff-360.png"), full_page=True)
    context.close()


def test_an_admin_reassigns_ticked_leads(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context, page = login(browser, server, "Admin Cabang", 1280)
    page.goto(f"{server}/leads")
    page.click("details.filters-panel summary")  # the filters are folded
    page.select_option("select[name=assigned]", "none")
    page.click("form.filters button[type=submit]")
    expect(page.locator("a.lead-name")).to_have_count(1)
    page.check("td.pick input[type=checkbox]")
    page.select_option("#bulk select[name=staff_id]", label="Koor Lebak")
    page.click("#bulk-assign")
    expect(page.locator("#bulk-result")).to_contain_text("1 calon peserta dialihkan")
    expect(page.locator("a.lead-name")).to_have_count(0)  # the filter (unassigned) is kept
    page.screenshot(path=str(ARTIFACTS / "dashboard-bulk-1280.png"), full_page=True)
    context.close()
