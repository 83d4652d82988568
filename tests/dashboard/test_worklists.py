"""Work lists, data-quality flags and the printable visit list (issue 16 items 3, 4 and 10), through
the real dashboard on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import select, update

from handlers.redact import mask_nik
from storage.dashboard_models import CallbackRequest
from storage.models import AuditLog, Lead, LeadEvent, LeadNameWord
from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead, add_staff, csrf_of, login


def names_on(page: str) -> list[str]:
    return re.findall(r'class="lead-name" href="/leads/\d+">([^<]+)<', page)


async def _set_nik(db, cipher, lead_id: int, nik: str, **values) -> None:  # type: ignore[no-untyped-def]
    """A lead's NIK (and other columns) as an older version of the bot saved them: not yet checked."""
    async with db.session() as session:
        await session.execute(
            update(Lead)
            .where(Lead.id == lead_id)
            .values(nik_encrypted=cipher.encrypt(nik), nik_hash=cipher.keyed_hash(nik), nik_masked=mask_nik(nik),
                    nik_checks=None, nik_tail_hash=None, **values)
        )  # fmt: skip


async def test_views_mine_overdue_unassigned_and_callbacks(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    koor = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    other = await add_staff(db, "Koor Dua", "coordinator", ("3673",))
    now = datetime.now(UTC)
    await add_lead(db, cipher, name="Baru Saya", assigned=koor)
    await add_lead(db, cipher, name="Lama Saya", assigned=koor, created_at=now - timedelta(hours=49))
    await add_lead(db, cipher, name="Lama Dihubungi", assigned=koor, status="contacted",
                   created_at=now - timedelta(days=5))  # fmt: skip
    await add_lead(db, cipher, name="Lama Teman", assigned=other, created_at=now - timedelta(days=3))
    await add_lead(db, cipher, name="Tanpa Pemilik", created_at=now - timedelta(hours=47))
    await add_lead(db, cipher, name="Lebak Jauh", kecamatan=MUNCANG, created_at=now - timedelta(days=9))
    async with db.session() as session:
        from storage import repositories as repo

        contact, _ = await repo.get_or_create_contact(session, "telegram", "555")
        session.add(CallbackRequest(contact_id=contact.id, question="kapan bisa daftar?", kecamatan_code=KASEMEN))
    await login(client, "Koor Kota")
    page = (await client.get("/leads")).text
    assert 'href="/leads?view=mine"' in page and 'aria-current="page">Semua<' in page
    assert set(names_on((await client.get("/leads?view=mine")).text)) == {"Baru Saya", "Lama Saya", "Lama Dihubungi"}
    # Overdue: still new after BPU_FOLLOWUP_HOURS (48), the digest's rule; their area only.
    assert set(names_on((await client.get("/leads?view=overdue")).text)) == {"Lama Saya", "Lama Teman"}
    assert names_on((await client.get("/leads?view=unassigned")).text) == ["Tanpa Pemilik"]
    callbacks = (await client.get("/leads?view=callbacks")).text
    assert "kapan bisa daftar?" in callbacks and names_on(callbacks) == []
    assert "kapan bisa daftar?" not in (await client.get("/leads?view=mine")).text
    # A view and the other filters together, kept by the filter form and the pages.
    mixed = (await client.get("/leads?view=mine&status=new")).text
    assert set(names_on(mixed)) == {"Baru Saya", "Lama Saya"}
    assert 'name="view" value="mine"' in mixed
    await client.post("/logout", data={"csrf": await csrf_of(client, "/leads")})
    await add_staff(db, "Staf", "staff")
    await login(client, "Staf")
    office = (await client.get("/leads")).text
    assert 'href="/leads?view=mine"' not in office  # nothing is assigned to office staff
    assert set(names_on((await client.get("/leads?view=overdue")).text)) == {"Lama Saya", "Lama Teman", "Lebak Jauh"}


async def test_bulk_mark_stays_in_the_coordinators_areas(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    koor = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    one = await add_lead(db, cipher, name="Satu", assigned=koor)
    two = await add_lead(db, cipher, name="Dua", assigned=koor)
    far = await add_lead(db, cipher, name="Jauh", kecamatan=MUNCANG)
    await login(client, "Koor Kota")
    page = (await client.get("/leads?view=mine")).text
    assert 'id="bulk-mark"' in page and page.count('form="bulk"') == 2
    token = await csrf_of(client, "/leads")
    r = await client.post(
        "/leads/status",
        data={"csrf": token, "status": "contacted", "note": "ditelepon bersama", "lead": [one, two, far],
              "back": "view=mine"},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/leads?view=mine&marked=2"
    shown = (await client.get(r.headers["location"])).text
    assert "2 calon peserta ditandai." in shown
    async with db.session() as session:
        statuses = dict((await session.execute(select(Lead.id, Lead.status))).all())
        assert statuses == {one: "contacted", two: "contacted", far: "new"}
        events = (await session.scalars(select(LeadEvent).order_by(LeadEvent.lead_id))).all()
        assert [(e.lead_id, e.status, e.note, e.staff_id) for e in events] == [
            (one, "contacted", "ditelepon bersama", koor),
            (two, "contacted", "ditelepon bersama", koor),
        ]
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "leads_status"))
        assert audit is not None and audit.detail["lead_ids"] == [one, two]
    bad = await client.post("/leads/status", data={"csrf": token, "status": "gone", "lead": [one]})
    assert bad.status_code == 400


async def test_search_without_accents_by_nik_tail_and_page_numbers(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Staf", "staff")
    eneng = await add_lead(db, cipher, name="Enéng Sri-Rahayu")
    await add_lead(db, cipher, name="Énèng Ğülsüm")
    await add_lead(db, cipher, name="Nenengsih")
    await login(client, "Staf")
    assert set(names_on((await client.get("/leads?q=eneng")).text)) == {"Enéng Sri-Rahayu", "Énèng Ğülsüm"}
    assert names_on((await client.get("/leads?q=ENENG rahayu")).text) == ["Enéng Sri-Rahayu"]
    assert names_on((await client.get("/leads?q=gulsum")).text) == ["Énèng Ğülsüm"]
    assert names_on((await client.get("/leads?q=nenengs")).text) == ["Nenengsih"]
    assert names_on((await client.get("/leads?q=engsih")).text) == []  # a word's start, not its middle
    # The name words follow a renamed lead (the mapper events), and leave with a deleted one.
    async with db.session() as session:
        lead = await session.get(Lead, eneng)
        assert lead is not None
        lead.full_name = "Cucu Suryani"
    assert names_on((await client.get("/leads?q=suryani")).text) == ["Cucu Suryani"]
    assert names_on((await client.get("/leads?q=rahayu")).text) == []
    # The NIK's last 4 digits: a keyed hash stored beside the encrypted NIK (filled late for old leads).
    target = await add_lead(db, cipher, name="Tua Sekali")
    await _set_nik(db, cipher, target, "3673025508907391")
    assert names_on((await client.get("/leads?q=7391")).text) == ["Tua Sekali"]
    assert names_on((await client.get("/leads?q=91")).text) == ["Tua Sekali"]  # what the masked NIK shows
    assert names_on((await client.get("/leads?q=3673025508907391")).text) == ["Tua Sekali"]
    async with db.session() as session:
        stored = await session.get(Lead, target)
        assert stored is not None and stored.nik_tail_hash == cipher.tail_hash("7391")
        assert "7391" not in (stored.nik_tail_hash or "") and stored.nik_checks == ""
        words = (await session.scalars(select(LeadNameWord.word).where(LeadNameWord.lead_id == target))).all()
        assert sorted(words) == ["sekali", "tua"]
    # Page numbers: 50 a page, every page reachable by its number.
    for i in range(120):
        await add_lead(db, cipher, name=f"Pekerja {i:03d}", created_at=datetime(2026, 11, 1, tzinfo=UTC))
    first = (await client.get("/leads?q=pekerja")).text
    assert re.findall(r'<a href="/leads\?q=pekerja&amp;page=(\d+)">', first) == ["2", "3"]
    third = (await client.get("/leads?q=pekerja&page=3")).text
    assert len(names_on(third)) == 20 and '<strong aria-current="page">3</strong>' in third
    assert 'href="/leads?q=pekerja">1</a>' in third


async def test_whatsapp_link_beside_the_phone(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Staf", "staff")
    lead = await add_lead(db, cipher, name="Ani", phone="+6281298765432")
    await login(client, "Staf")
    for path in ("/leads", f"/leads/{lead}"):
        page = (await client.get(path)).text
        assert 'href="tel:+6281298765432"' in page and 'href="https://wa.me/6281298765432"' in page


async def test_quality_flags_on_the_lead_in_the_list_and_as_a_filter(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Staf", "staff")
    good = await add_lead(db, cipher, name="Baik Saja")
    twin_a = await add_lead(db, cipher, name="Kembar Satu")
    twin_b = await add_lead(db, cipher, name="Kembar Dua")
    await _set_nik(db, cipher, twin_a, "3673025508900901")
    await _set_nik(db, cipher, twin_b, "3673025508900901")
    old = await add_lead(db, cipher, name="Sudah Tua")
    today = datetime.now(UTC).date()
    born = date(today.year - 65, 1, 1)  # 65 today: at the limit (facts.yaml: under 65 to register)
    await _set_nik(db, cipher, old, f"36730241{born:%m%y}0004", birth_date=born)
    nowhere = await add_lead(db, cipher, name="Kode Aneh")
    await _set_nik(db, cipher, nowhere, "9999995508900002")
    wrong_day = await add_lead(db, cipher, name="Tanggal Lain")
    await _set_nik(db, cipher, wrong_day, "3673025509900003")  # NIK: 15-09-1990; given 15-08-1990
    await login(client, "Staf")
    flagged = (await client.get("/leads?view=flagged")).text
    assert set(names_on(flagged)) == {"Kembar Satu", "Kembar Dua", "Sudah Tua", "Kode Aneh", "Tanggal Lain"}
    listed = (await client.get("/leads")).text
    assert listed.count('class="flag"') == 5
    row = re.search(rf'href="/leads/{good}">Baik Saja</a>(.*?)</td>', listed)
    assert row and "flag" not in row.group(1)

    async def flags_of(lead_id: int) -> list[str]:
        return re.findall(r'data-flag="([a-z_]+)"', (await client.get(f"/leads/{lead_id}")).text)

    assert await flags_of(twin_a) == ["duplicate_nik"]
    assert await flags_of(old) == ["over_age"]
    assert await flags_of(nowhere) == ["nik_region"]  # 999999 names no kecamatan
    assert await flags_of(wrong_day) == ["nik_birth_date"]
    assert await flags_of(good) == []
    page = (await client.get(f"/leads/{twin_a}")).text
    assert "NIK yang sama ada di calon peserta lain." in page
    # The flags come from one rule, in the list's SQL and on the lead page alike.
    async with db.session() as session:
        checks = dict((await session.execute(select(Lead.id, Lead.nik_checks))).all())
    assert checks[good] == "" and checks[wrong_day] == "nik_birth_date"


async def test_visit_list_is_printable_and_scoped(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    from storage import repositories as repo

    koor = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    await add_staff(db, "Koor Lebak", "coordinator", ("3602",))
    await add_staff(db, "Staf", "staff")
    async with db.session() as session:
        contact, _ = await repo.get_or_create_contact(session, "whatsapp", "6281211112222")
        session.add(CallbackRequest(contact_id=contact.id, question="iuran untuk nelayan berapa?",
                                    kecamatan_code=KASEMEN))  # fmt: skip
        contact_id = contact.id
    await add_lead(db, cipher, name="Siti Kasemen", assigned=koor, contact_id=contact_id, phone="+6281211112222")
    curug = await add_lead(db, cipher, name="Udin Curug", kecamatan="367305", assigned=koor)
    await _set_nik(db, cipher, curug, "3673052508900007")  # NIK: 25-08-1990; given 15-08-1990
    await add_lead(db, cipher, name="Sudah Daftar", assigned=koor, status="registered")
    await add_lead(db, cipher, name="Dedi Muncang", kecamatan=MUNCANG)
    await login(client, "Koor Kota")
    page = (await client.get("/leads/visits")).text
    assert '<link rel="stylesheet" href="/static/leads.css">' in page
    assert "Siti Kasemen" in page and "Udin Curug" in page
    assert "Sudah Daftar" not in page and "Dedi Muncang" not in page  # finished; outside their areas
    assert "iuran untuk nelayan berapa?" in page and "+6281211112222" in page
    assert page.count('class="visit-group"') == 2  # one per kecamatan: a page each when printed
    assert page.count('data-flag="nik_birth_date"') == 1  # nobody drives out for it unwarned
    one = (await client.get(f"/leads/visits?kecamatan={KASEMEN}")).text
    assert "Siti Kasemen" in one and "Udin Curug" not in one
    assert "Dedi Muncang" not in (await client.get(f"/leads/visits?kecamatan={MUNCANG}&coordinator=all")).text
    await client.post("/logout", data={"csrf": await csrf_of(client, "/leads")})
    await login(client, "Staf")
    office = (await client.get("/leads/visits?coordinator=none")).text
    assert "Dedi Muncang" in office and "Siti Kasemen" not in office
    assert (await client.get(f"/leads/visits?coordinator={koor}")).text.count('class="visit-group"') == 2
    css = (await client.get("/static/leads.css")).text
    assert "@media print" in css and "break-after: page" in css


async def test_chat_leads_with_one_nik_are_both_flagged(client: httpx.AsyncClient, engine, db, cipher) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import Chat
    from tests.forms import NIK, fill_to_summary

    for user in ("tetangga-1", "tetangga-2"):  # the chat warns of a known NIK, and saves
        chat = Chat(engine, user=user, start_code=None)
        await fill_to_summary(chat)
        await chat.press("Kirim")
    async with db.session() as session:  # checked at save: no backfill needed
        saved = (await session.scalars(select(Lead).order_by(Lead.id))).all()
        assert [(lead.nik_checks, lead.nik_tail_hash) for lead in saved] == [("", cipher.tail_hash(NIK))] * 2
    await add_staff(db, "Staf", "staff")
    await login(client, "Staf")
    assert names_on((await client.get("/leads?view=flagged")).text) == ["Siti Aminah", "Siti Aminah"]
    assert re.findall(r'data-flag="([a-z_]+)"', (await client.get(f"/leads/{saved[0].id}")).text) == ["duplicate_nik"]
    export = (await client.get("/leads/export.csv?view=flagged")).text
    assert export.count("Siti Aminah") == 2


def test_migration_0010_indexes_the_names_of_existing_leads(db_url: str) -> None:
    import asyncio

    from alembic import command
    from sqlalchemy import text

    from handlers import lead_quality
    from storage.crypto import FieldCipher
    from storage.db import Database
    from storage.migrate import alembic_config, upgrade
    from tests.conftest import TEST_SECRET

    cipher = FieldCipher(TEST_SECRET)
    nik = "3673025508901234"
    command.downgrade(alembic_config(db_url), "0009")

    async def insert_old_lead() -> None:
        db = Database(db_url)
        try:
            async with db.session() as session:
                await session.execute(
                    text(
                        "INSERT INTO leads (full_name, nik_encrypted, nik_hash, nik_masked, birth_date, phone_e164,"
                        " kabkota_code, kecamatan_code, occupation, is_transport, declared_income, programmes,"
                        " continue_via, status, timezone, channel, created_at, updated_at) VALUES (:name, :enc,"
                        " :hash, :masked, :born, '+6281234567890', '3673', :kec, 'trader', false, 2000000, 2,"
                        " 'visit', 'new', 'Asia/Jakarta', 'telegram', :at, :at)"
                    ),
                    {"name": "Enéng Suryani", "enc": cipher.encrypt(nik), "hash": cipher.keyed_hash(nik),
                     "masked": mask_nik(nik), "born": date(1990, 8, 15), "kec": KASEMEN,
                     "at": datetime(2026, 11, 1, tzinfo=UTC)},
                )  # fmt: skip
        finally:
            await db.dispose()

    async def check() -> None:
        db = Database(db_url)
        try:
            async with db.session() as session:
                words = (await session.scalars(select(LeadNameWord.word).order_by(LeadNameWord.word))).all()
                assert words == ["eneng", "suryani"]
                lead = await session.scalar(select(Lead))
                assert lead is not None and lead.nik_checks is None and lead.nik_tail_hash is None
                assert await lead_quality.backfill(session, cipher) == 1
                assert await lead_quality.backfill(session, cipher) == 0
                assert lead.nik_tail_hash == cipher.tail_hash("1234") and lead.nik_checks == ""
        finally:
            await db.dispose()

    asyncio.run(insert_old_lead())
    upgrade(db_url)
    asyncio.run(check())
