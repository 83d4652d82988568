"""Working the leads: filters, search, pages, status, reassignment, reveal, exports, field entry."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import httpx
from openpyxl import load_workbook
from sqlalchemy import select

from storage.models import AuditLog, Lead, LeadEvent
from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead, add_staff, csrf_of, login


def names_on(page: str) -> list[str]:
    return re.findall(r'class="lead-name" href="/leads/\d+">([^<]+)<', page)


async def test_filters_search_and_keyset_pages(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Staf", "staff")
    base = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    for i in range(120):
        await add_lead(
            db,
            cipher,
            name=f"Pekerja {i:03d}",
            kecamatan=KASEMEN if i % 2 else MUNCANG,
            status="contacted" if i % 3 == 0 else "new",
            created_at=base + timedelta(minutes=i),
            occupation="fisher" if i % 5 == 0 else "trader",
            campaign="PASAR1" if i < 10 else None,
            phone=f"+62812000{i:05d}",
        )
    await login(client, "Staf")
    first = await client.get("/leads")
    assert names_on(first.text)[:2] == ["Pekerja 119", "Pekerja 118"] and len(names_on(first.text)) == 50
    seen = list(names_on(first.text))
    url = re.search(r'rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    while url:
        page = await client.get(url)
        seen += names_on(page.text)
        nxt = re.search(r'rel="next" href="([^"]+)"', page.text)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert len(seen) == 120 and len(set(seen)) == 120
    assert "Halaman 3" in page.text
    kasemen = await client.get(f"/leads?area={KASEMEN}&status=new&occupation=fisher&sort=oldest")
    expected = [f"Pekerja {i:03d}" for i in range(120) if i % 2 and i % 3 and i % 5 == 0]
    assert names_on(kasemen.text) == expected
    assert names_on((await client.get("/leads?campaign=PASAR1&sort=name")).text) == [
        f"Pekerja {i:03d}" for i in range(10)
    ]
    # Words of the name by their start, in any case: "pekerja 07" finds "Pekerja 070" to "Pekerja 079"
    assert names_on((await client.get("/leads?q=PEKERJA 07")).text) == [f"Pekerja {i:03d}" for i in range(79, 69, -1)]
    assert names_on((await client.get("/leads?q=0812 00000 042")).text) == ["Pekerja 042"]
    assert names_on((await client.get("/leads?q=100%25")).text) == ["Pekerja 100"]  # '%' no wildcard
    assert names_on((await client.get("/leads?q=%25_")).text) == []
    day = await client.get("/leads?date_from=2026-11-01&date_to=2026-11-01")  # 10:00-11:59 WIB: all of them
    assert re.search(r'id="total">120<', day.text)
    assert re.search(r'id="total">0<', (await client.get("/leads?date_from=2026-11-02")).text)


async def test_status_change_reassignment_and_reveal_are_recorded(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    admin = await add_staff(db, "Admin", "admin")
    koor = await add_staff(db, "Koor Baru", "coordinator", ("3673",))
    lead_id = await add_lead(db, cipher, name="Siti")
    await login(client, "Admin")
    token = await csrf_of(client, f"/leads/{lead_id}")
    r = await client.post(
        f"/leads/{lead_id}/status", data={"csrf": token, "status": "contacted", "note": "ditelepon, minta datang Senin"}
    )
    assert r.status_code == 303
    r = await client.post(f"/leads/{lead_id}/assign", data={"csrf": token, "staff_id": str(koor)})
    assert r.status_code == 303
    page = await client.get(f"/leads/{lead_id}")
    assert "ditelepon, minta datang Senin" in page.text and "Koor Baru" in page.text
    revealed = await client.post(f"/leads/{lead_id}/reveal", data={"csrf": token})
    nik = re.search(r'id="nik-full">(\d{16})<', revealed.text).group(1)
    async with db.session() as session:
        lead = await session.get(Lead, lead_id)
        assert lead.status == "contacted" and lead.assigned_staff_id == koor
        assert cipher.decrypt(lead.nik_encrypted) == nik
        events = (await session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id))).all()
        assert [(e.status, e.staff_id) for e in events][0] == ("contacted", admin)
        actions = [a.action for a in (await session.scalars(select(AuditLog).order_by(AuditLog.id))).all()]
    assert {"lead_status", "lead_reassigned", "nik_revealed"} <= set(actions)
    assert (await client.post(f"/leads/{lead_id}/status", data={"csrf": token, "status": "bogus"})).status_code == 400
    assert (
        await client.post(f"/leads/{lead_id}/assign", data={"csrf": token, "staff_id": str(admin)})
    ).status_code == 400


async def test_exports_follow_the_filter_mask_the_nik_and_are_audited(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Staf", "staff")
    await add_lead(db, cipher, name='=HYPERLINK("x")', status="registered")
    await add_lead(db, cipher, name="Dedi", kecamatan=MUNCANG)
    await login(client, "Staf")
    csv = await client.get("/leads/export.csv?status=registered")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv.headers["content-disposition"]
    assert "'=HYPERLINK" in csv.text and "Dedi" not in csv.text
    assert re.search(r"3673\*{10}\d\d", csv.text)
    xlsx = await client.get(f"/leads/export.xlsx?area={MUNCANG}")
    rows = list(load_workbook(io.BytesIO(xlsx.content), read_only=True).active.iter_rows(values_only=True))
    assert rows[1][3] == "Dedi" and "*" in rows[1][4] and len(rows) == 2
    async with db.session() as session:
        audits = (await session.scalars(select(AuditLog).where(AuditLog.action == "leads_export"))).all()
    assert [(a.detail["format"], a.detail["rows"]) for a in audits] == [("csv", 1), ("xlsx", 1)]
    assert audits[0].detail["filter"] == {"status": "registered"}


async def test_field_entry_by_a_coordinator(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    koor = await add_staff(db, "Koor Lapangan", "coordinator", ("3673",))
    await login(client, "Koor Lapangan")
    token = await csrf_of(client, "/leads/new")
    form = {
        "csrf": token,
        "name": "ujang sutisna",
        "nik": "3673021708850003",
        "dob": "17-08-1985",
        "phone": "0812 3456 7890",
        "kecamatan": KASEMEN,
        "occupation": "transport",
        "income": "2 juta",
        "programmes": "2",
        "continue_via": "visit",
        "consent": "yes",
    }
    assert (await client.post("/leads/new", data={**form, "consent": ""})).status_code == 400
    assert (await client.post("/leads/new", data={**form, "dob": "18-08-1985"})).status_code == 400
    assert (await client.post("/leads/new", data={**form, "kecamatan": MUNCANG})).status_code == 400
    saved = await client.post("/leads/new", data=form)
    assert saved.status_code == 200 and "#1" in saved.text and "Rp" in saved.text
    assert (await client.post("/leads/new", data=form)).status_code == 409  # the same NIK twice
    async with db.session() as session:
        lead = await session.scalar(select(Lead))
        assert lead.full_name == "Ujang Sutisna" and lead.phone_e164 == "+6281234567890"
        assert lead.created_by_staff_id == koor and lead.assigned_staff_id == koor and lead.channel == "field"
        assert lead.nik_masked == "3673**********03" and cipher.decrypt(lead.nik_encrypted) == "3673021708850003"
        assert lead.is_transport and lead.declared_income == 2_000_000
        note = await session.scalar(select(LeadEvent.note).where(LeadEvent.lead_id == lead.id))
        assert "Koor Lapangan" in note
        consent = await session.scalar(select(AuditLog).where(AuditLog.action == "consent_in_person"))
        assert consent.detail["lead_id"] == lead.id


async def test_unanswered_questions_can_be_marked_handled(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    from storage import repositories as repo

    await add_staff(db, "Staf", "staff")
    async with db.session() as session:
        for _ in range(3):
            await repo.log_unanswered(session, None, "bisa bayar pakai pulsa?", "bisa bayar pakai pulsa", None, 0.2)
        await repo.log_unanswered(session, None, "<b>halo</b>", "halo", None, 0.1)
    await login(client, "Staf")
    page = await client.get("/unanswered")
    assert "bisa bayar pakai pulsa?" in page.text and "&lt;b&gt;halo&lt;/b&gt;" in page.text
    token = await csrf_of(client, "/unanswered")
    await client.post("/unanswered/handled", data={"csrf": token, "normalized": "bisa bayar pakai pulsa"})
    assert "pulsa" not in (await client.get("/unanswered")).text


async def test_content_preview_and_staff_management(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    await login(client, "Admin")
    preview = await client.get("/content")
    assert (
        'id="tpl-benefit_jkm"' in preview.text
        and "Rp42 juta" in preview.text
        and 'id="tpl-contribution_quote"' in preview.text
    )
    assert (
        "Minimum" in (await client.get("/content?lang=en")).text
        or "minimum" in (await client.get("/content?lang=en")).text
    )
    token = await csrf_of(client, "/staff")
    bad = await client.post(
        "/staff/add", data={"csrf": token, "name": "Koor", "role": "coordinator", "password": "x" * 12, "areas": "9999"}
    )
    assert bad.status_code == 400
    ok = await client.post(
        "/staff/add",
        data={
            "csrf": token,
            "name": "Koor",
            "role": "coordinator",
            "password": "x" * 12,
            "areas": "3673 360205",
            "target": "1.500",
        },
    )
    assert ok.status_code == 303
    assert (
        await client.post("/staff/add", data={"csrf": token, "name": "Koor", "role": "staff", "password": "x" * 12})
    ).status_code == 409
    from storage.models import Staff

    async with db.session() as session:
        koor = await session.scalar(select(Staff).where(Staff.name == "Koor"))
    r = await client.post(
        f"/staff/{koor.id}", data={"csrf": token, "role": "coordinator", "areas": "3604", "target": "", "password": ""}
    )
    assert r.status_code == 303
    async with db.session() as session:
        koor = await session.get(Staff, koor.id)
        assert [a.area_code for a in koor.areas] == ["3604"] and not koor.active
    audit = await client.get("/audit")
    assert "staff_added" in audit.text and "staff_changed" in audit.text
