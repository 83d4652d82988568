"""The dashboard in headless Chromium (Debian's /usr/bin/chromium), served by a real `bpu-bot run`."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.browser import ARTIFACTS, BROWSER
from tests.dashboard.browsing import XSS, login

pytestmark = BROWSER


def test_a_coordinator_on_a_phone_sees_only_their_area_and_exports(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context, page = login(browser, server, "Koor Kota", 360)
    expect(page.locator("h1")).to_have_text("Ringkasan")
    expect(page.locator("#weekly-pace")).to_contain_text("Laju mingguan")
    # The tables stack into cards: nothing on the overview is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview-360.png"), full_page=True)
    page.goto(f"{server}/leads")
    names = page.locator("a.lead-name")
    expect(names).to_have_count(2)
    expect(page.get_by_text("Dedi Muncang")).to_have_count(0)
    expect(names.filter(has_text="alert(1)")).to_have_text(XSS)  # shown as text, never run
    page.screenshot(path=str(ARTIFACTS / "dashboard-leads-360.png"), full_page=True)
    with page.expect_download() as info:
        page.click("text=Unduh CSV")
    path = tmp_path / "leads.csv"
    info.value.save_as(path)
    rows = list(csv.reader(path.open(encoding="utf-8-sig"), delimiter=";"))  # what Indonesian Excel splits
    assert {row[3] for row in rows[1:]} == {"Siti Kasemen", XSS}
    assert all(row[4].startswith("3673") and "*" * 10 in row[4] for row in rows[1:])
    page.goto(f"{server}/leads/new")
    page.screenshot(path=str(ARTIFACTS / "dashboard-field-360.png"), full_page=True)
    context.close()


def test_an_admin_changes_status_and_reassigns_and_csrf_is_checked(server: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context, page = login(browser, server, "Admin Cabang", 1280)
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview-1280.png"), full_page=True)
    page.goto(f"{server}/leads")
    page.screenshot(path=str(ARTIFACTS / "dashboard-leads-1280.png"), full_page=True)
    page.click("text=Dedi Muncang")
    page.select_option("#status-form select[name=status]", "registered")
    page.fill("#status-form textarea[name=note]", "Sudah daftar di kantor")
    page.click("#status-form button")
    expect(page.locator("h1 .status")).to_have_text("Terdaftar")
    expect(page.locator(".history")).to_contain_text("Sudah daftar di kantor")
    page.select_option("#assign-form select", label="Koor Lebak")
    page.click("#assign-form button")
    expect(page.locator("#assigned")).to_have_text("Koor Lebak")
    page.screenshot(path=str(ARTIFACTS / "dashboard-lead-1280.png"), full_page=True)
    # The same form, its CSRF field removed, is refused and changes nothing.
    page.evaluate("document.querySelector('#status-form input[name=csrf]').remove()")
    page.select_option("#status-form select[name=status]", "declined")
    page.click("#status-form button")
    expect(page.locator(".error")).to_contain_text("Formulir kedaluwarsa")
    page.go_back()
    page.reload()
    expect(page.locator("h1 .status")).to_have_text("Terdaftar")
    # The poster downloads.
    page.goto(f"{server}/campaign-links?code=PASAR-1")
    expect(page.locator("#telegram-link")).to_have_text("https://t.me/bpu_serang_bot?start=PASAR-1")
    page.fill("#poster-form input[name=event]", "Sosialisasi di Pasar Rau")
    page.fill("#poster-form input[name=when]", "Sabtu, 12 Desember 2026, 09.00 WIB")
    with page.expect_download() as info:
        page.click("#poster")
    path = tmp_path / "poster.pdf"
    info.value.save_as(path)
    pdf = path.read_bytes()
    assert pdf.startswith(b"%PDF") and info.value.suggested_filename == "poster-PASAR-1.pdf"
    assert b"(Sosialisasi di Pasar Rau)" in pdf and b"Kapan: Sabtu, 12 Desember 2026" in pdf
    page.goto(f"{server}/lang?to=en&next=/leads")
    expect(page.locator("h1")).to_have_text("Leads")
    page.goto(f"{server}/sim")
    expect(page.frame_locator("iframe.simulator").locator("body")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-simulator-1280.png"), full_page=True)
    context.close()


def test_staff_composes_previews_and_schedules_a_campaign_on_a_phone(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    import re
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from playwright.sync_api import expect

    tomorrow = (datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(days=1)).date()
    context, page = login(browser, server, "Staf Kantor", 360)
    page.goto(f"{server}/campaigns")
    page.click("#new-campaign")
    page.select_option("select[name=template]", "broadcast_sosialisasi")
    page.fill("input[name=place]", "Kel. Cipare")
    page.fill("input[name=date]", tomorrow.isoformat())
    page.fill("input[name=campaign_code]", "SOS-CIPARE")
    page.locator("input[name=area]").first.fill("Kota Serang (3673)")  # as the list of names offers it
    page.check("input[name=rsvp]")
    page.click("#preview-button")
    expect(page.locator("#recipient-count")).to_have_text("2")
    expect(page.locator("#wa-share")).to_contain_text("batas harian")
    expect(page.locator(".telegram-bubble b").first).to_have_text(
        "Sosialisasi BPJS Ketenagakerjaan untuk pekerja mandiri"
    )
    expect(page.locator(".whatsapp-bubble").first).to_contain_text(
        "*Sosialisasi BPJS Ketenagakerjaan untuk pekerja mandiri*"
    )
    expect(page.locator(".whatsapp-key").first).to_have_text("Hadir")
    page.screenshot(path=str(ARTIFACTS / "dashboard-campaign-preview-360.png"), full_page=True)
    expect(page.locator("#campaign-links")).to_contain_text("https://t.me/bpu_serang_bot?start=SOS-CIPARE")
    page.check("input[name=when][value=at]")
    page.fill("input[name=at]", f"{tomorrow.isoformat()}T22:00")  # in the quiet hours (21-7)
    page.click("#create-button")
    # Nothing is stored yet: a confirmation with the preview, the count and the quiet-hours warning.
    expect(page.locator("h1")).to_have_text("Periksa sebelum mengirim")
    expect(page.locator("#recipient-count")).to_have_text("2")
    expect(page.locator("#confirm-areas")).to_have_text("Kota Serang (3673)")
    expect(page.locator("#quiet-warning")).to_contain_text("jam tenang")
    expect(page.locator(".telegram-bubble").first).to_contain_text("https://t.me/bpu_serang_bot?start=SOS-CIPARE")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 361)"
        ".map(e => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, wide  # nothing wider than the phone
    page.screenshot(path=str(ARTIFACTS / "dashboard-campaign-confirm-360.png"), full_page=True)
    page.click("#edit-button")  # back to the form, as typed
    expect(page.locator("input[name=area]").first).to_have_value("Kota Serang (3673)")
    page.fill("input[name=at]", f"{tomorrow.isoformat()}T09:00")
    page.click("#create-button")
    expect(page.locator("#quiet-warning")).to_have_count(0)
    page.click("#confirm-button")
    page.wait_for_url(re.compile(r".*/campaigns/\d+$"))
    expect(page.locator("#campaign-status")).to_have_text("Terjadwal")
    expect(page.locator("#scheduled-at")).to_contain_text(f"{tomorrow:%d-%m-%Y} 09:00")
    expect(page.locator("#link-telegram")).to_have_text("https://t.me/bpu_serang_bot?start=SOS-CIPARE")
    expect(page.locator("#cancel-form button")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-campaign-360.png"), full_page=True)
    page.click("#cancel-form button")  # asks first; keeping it changes nothing
    expect(page.locator("#cancel-confirm")).to_contain_text("Yakin membatalkan")
    page.click("#keep-campaign")
    expect(page.locator("#campaign-status")).to_have_text("Terjadwal")
    page.goto(f"{server}/campaigns")
    expect(page.locator("table.campaigns tbody tr")).to_have_count(1)
    context.close()
