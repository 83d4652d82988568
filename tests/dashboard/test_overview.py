"""The overview's numbers, its SVG charts, and the campaign links and poster."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from bot.dashboard import queries
from handlers import links
from storage import repositories as repo
from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead, add_staff, login


async def test_funnel_waiting_progress_and_coordinators(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    koor = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    await add_staff(db, "Admin", "admin")
    async with db.session() as session:
        for i in range(3):
            contact, _ = await repo.get_or_create_contact(session, "telegram", f"u{i}")
            contact.region_code = KASEMEN if i else None
    now = datetime.now(UTC)
    await add_lead(db, cipher, name="Lama Menunggu", created_at=now - timedelta(hours=72), assigned=koor)
    await add_lead(
        db, cipher, name="Baru Masuk", created_at=now - timedelta(hours=1), status="contacted", assigned=koor
    )
    await add_lead(db, cipher, name="Sudah Daftar", status="registered", assigned=koor)
    await add_lead(db, cipher, name="Lebak", kecamatan=MUNCANG, status="registered")
    async with db.session() as session:
        total, by_region = await queries.funnel_by_region(session, None)
        assert (total.conversations, total.leads, total.contacted, total.registered) == (3, 4, 3, 2)
        assert [code for code, _ in by_region] == ["3673", "3602"]
        mine, _ = await queries.funnel_by_region(session, ["3673"])
        assert (mine.conversations, mine.leads, mine.registered) == (2, 3, 1)
        weeks = await queries.funnel_by_week(session, None, __import__("zoneinfo").ZoneInfo("Asia/Jakarta"), now)
        assert len(weeks) == 12 and sum(f.leads for _, f in weeks) == 4 and weeks[-1][1].leads >= 1
    await login(client, "Admin")
    page = (await client.get("/")).text
    assert page.count("<svg") >= 4 and "Kota Serang" in page and "Lama Menunggu" in page
    assert "Baru Masuk" not in page.split("Menunggu tindak lanjut")[1].split("</section>")[0]
    assert "101.000" in page and "20.000" in page and "15.000" in page
    assert 'id="campaigns"' in page and "Belum ada kampanye." in page
    assert re.search(r"Koor Kota</td><td[^>]*>3</td>", page)


async def test_a_coordinator_overview_counts_only_their_areas(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Koor Lebak", "coordinator", ("3602",))
    await add_lead(db, cipher, name="Kota", kecamatan=KASEMEN, created_at=datetime.now(UTC) - timedelta(days=5))
    await add_lead(db, cipher, name="Lebak Lama", kecamatan=MUNCANG, created_at=datetime.now(UTC) - timedelta(days=5))
    await login(client, "Koor Lebak")
    page = (await client.get("/")).text
    assert "Lebak Lama" in page and ">Kota<" not in page and "Kota Serang" not in page
    assert "15.000" in page and "20.000" not in page  # only their region's target


def test_campaign_links() -> None:
    assert links.telegram_link("@bpu_serang_bot", "PASAR-1") == "https://t.me/bpu_serang_bot?start=PASAR-1"
    wa = links.whatsapp_link("0812-0000-1111", "PASAR-1")
    assert wa.startswith("https://wa.me/6281200001111?text=") and "PASAR-1" in wa and " " not in wa
    assert not links.valid_code("<b>") and not links.valid_code("x" * 65) and links.valid_code("SRG_2026-a")


async def test_links_page_and_poster(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Koor", "coordinator", ("3673",))
    await login(client, "Koor")
    page = await client.get("/campaign-links?code=PASAR-1")
    assert "https://t.me/bpu_serang_bot?start=PASAR-1" in page.text and "https://wa.me/6281200001111?text=" in page.text
    bad = await client.get('/campaign-links?code="><script>')
    assert "<script>" not in bad.text and "/campaign-links/poster.pdf" not in bad.text
    pdf = await client.get("/campaign-links/poster.pdf?code=PASAR-1")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.content.rstrip().endswith(b"%%EOF")
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf.content and b"Kode kampanye: PASAR-1" in pdf.content
    assert b"Kapan:" not in pdf.content  # no event: no event block
    params = {"code": "PASAR-1", "event": "Sosialisasi BPJS TK", "when": "Sabtu 12 Des, 09.00 WIB",
              "where": "Balai  Desa\nKasemen " + "x" * 300}  # fmt: skip
    event = await client.get("/campaign-links/poster.pdf", params=params)
    assert b"(Sosialisasi BPJS TK)" in event.content and b"(Kapan: Sabtu 12 Des, 09.00 WIB)" in event.content
    assert b"Di mana: Balai Desa Kasemen" in event.content and b"x" * 130 not in event.content  # tidied, capped
    png = await client.get("/campaign-links/qr.png?code=PASAR-1&for=Telegram")
    assert png.content.startswith(b"\x89PNG")
    assert (await client.get("/campaign-links/poster.pdf?code=<x>")).status_code == 404
