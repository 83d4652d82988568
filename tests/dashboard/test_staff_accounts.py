"""Issue 16 items 6 and 2 on the staff page: contacts for chat, areas picked by name, forms that
keep what was typed, a warning for a coordinator with no area, the lock an admin can lift; and the
leads assigned again when a coordinator is added, given an area or deactivated."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import httpx
from sqlalchemy import select

from bot.channels import registry
from bot.dashboard import admin, auth
from content import regions
from storage import repositories as repo
from storage.models import AuditLog, Lead, LeadEvent, Staff
from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead, add_staff, csrf_of, login

NEW_COORDINATOR = {"name": "Dewi Koordinator", "role": "coordinator", "password": "sandi-dewi-12345"}


async def _post(client: httpx.AsyncClient, path: str, **data: object) -> httpx.Response:
    token = await csrf_of(client, "/staff")
    return await client.post(path, data={"csrf": token, **data})


async def _staff(db, name: str) -> Staff:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        staff = await session.scalar(select(Staff).where(Staff.name == name))
        assert staff is not None
        return staff


def _row(html: str, staff_id: int) -> str:
    match = re.search(rf'<details class="card staff-row[^"]*" id="staff-{staff_id}".*?</details>', html, re.S)
    assert match, f"no row for staff {staff_id}"
    return unescape(match.group(0))


async def test_a_coordinator_made_in_the_dashboard_reaches_the_chat(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    assert (await login(client, "ADMIN")).status_code == 303  # names compare without case
    r = await _post(client, "/staff/add", **NEW_COORDINATOR, telegram_id="424242", whatsapp="0812 3456 7890",
                    area=["Kota Serang › Kasemen (367302)", "lebak", ""])  # fmt: skip
    assert r.status_code == 303, r.text
    dewi = await _staff(db, "Dewi Koordinator")
    assert (dewi.identity("telegram"), dewi.identity("whatsapp")) == ("424242", "+6281234567890")
    assert sorted(a.area_code for a in dewi.areas) == ["3602", KASEMEN]
    async with db.session() as session:  # the digest and the chat commands find her by these
        for channel, user_id in (("telegram", "424242"), ("whatsapp", "6281234567890")):  # a wa_id: the digits
            stored = registry.staff_identities()[channel].stored(user_id)
            assert (await repo.staff_for(session, channel, stored)).id == dewi.id  # type: ignore[union-attr]
    row = _row((await client.get("/staff")).text, dewi.id)
    assert 'value="Kota Serang › Kasemen (367302)"' in row and 'value="Kab. Lebak (3602)"' in row
    assert 'value="424242"' in row and 'value="+6281234567890"' in row

    # An edit changes the contacts; emptied, they are removed.
    r = await _post(client, f"/staff/{dewi.id}", role="coordinator", area=["Kasemen"], telegram_id="",
                    whatsapp="+62 812-3456-7891", active="yes")  # fmt: skip
    assert r.status_code == 303
    dewi = await _staff(db, "Dewi Koordinator")
    assert (dewi.identity("telegram"), dewi.identity("whatsapp")) == (None, "+6281234567891")
    assert [a.area_code for a in dewi.areas] == [KASEMEN]
    # A form without the contact fields (an older script) leaves them as they are.
    assert (
        await _post(client, f"/staff/{dewi.id}", role="coordinator", areas=KASEMEN, active="yes")
    ).status_code == 303
    assert (await _staff(db, "Dewi Koordinator")).identity("whatsapp") == "+6281234567891"


async def test_a_form_with_a_mistake_keeps_what_was_typed(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    other = await add_staff(db, "Budi", "coordinator", ("3673",))
    await login(client, "Admin")
    typed = {**NEW_COORDINATOR, "telegram_id": "42ab", "whatsapp": "0812 3456 7890", "target": "1.200",
             "area": ["Kota Serang › Kasemen (367302)"]}  # fmt: skip
    mistakes = [
        ({}, "ID Telegram hanya berisi angka"),
        ({"telegram_id": "4242", "whatsapp": "12345"}, "Nomor WhatsApp tidak sah"),
        ({"telegram_id": "4242", "area": ["Kota Atlantis"]}, "Kode wilayah tidak dikenal: Kota Atlantis"),
        ({"telegram_id": "4242", "password": "pendek"}, "Kata sandi minimal 10 karakter"),
    ]
    for changes, message in mistakes:
        r = await _post(client, "/staff/add", **{**typed, **changes})
        assert r.status_code == 400 and message in unescape(r.text), (changes, r.status_code)
        form = unescape(re.search(r'<form method="post" action="/staff/add".*?</form>', r.text, re.S).group(0))  # type: ignore[union-attr]
        assert 'value="Dewi Koordinator"' in form and 'value="1.200"' in form
        assert f'value="{(changes.get("whatsapp") or "0812 3456 7890")}"' in form
        assert 'value="Kota Serang › Kasemen (367302)"' in form or "Kota Atlantis" in form
        assert '<details class="card" open>' in r.text  # the add form is open on its error
    async with db.session() as session:
        assert await session.scalar(select(Staff).where(Staff.name == "Dewi Koordinator")) is None

    # The same on a member's row: the error shows there and the row keeps the typed values.
    r = await _post(client, f"/staff/{other}", role="coordinator", area=["Kasemen", "Kota Atlantis"],
                    telegram_id="777", whatsapp="", active="yes")  # fmt: skip
    assert r.status_code == 400
    row = _row(r.text, other)
    assert (
        "Kode wilayah tidak dikenal: Kota Atlantis" in row and 'value="Kota Atlantis"' in row and 'value="777"' in row
    )
    assert [a.area_code for a in (await _staff(db, "Budi")).areas] == ["3673"]  # nothing saved

    # One Telegram id or WhatsApp number per staff member (the chat finds them by it).
    r = await _post(client, f"/staff/{other}", role="coordinator", area=["3673"], telegram_id="777", active="yes")
    assert r.status_code == 303
    r = await _post(client, "/staff/add", **{**typed, "telegram_id": "777"})
    assert r.status_code == 409 and "sudah dipakai petugas lain" in r.text and 'value="Dewi Koordinator"' in r.text


async def test_names_are_one_login_in_any_case(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    await add_staff(db, "Budi", "coordinator", ("3673",))
    await login(client, "Admin")
    r = await _post(client, "/staff/add", **{**NEW_COORDINATOR, "name": "budi", "area": ["3673"]})
    assert r.status_code == 409 and "Nama ini sudah dipakai" in r.text
    async with db.session() as session:
        assert (await repo.staff_named(session, "  BUDI ")).name == "Budi"  # type: ignore[union-attr]


async def test_a_coordinator_with_no_area_is_pointed_out(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    await login(client, "Admin")
    page = await client.get("/staff")
    assert 'id="no-area-warning"' not in page.text
    assert "360401" not in page.text  # the old placeholder, a code the app refuses
    r = await _post(client, "/staff/add", **NEW_COORDINATOR)
    assert r.status_code == 303  # allowed, and said
    page = await client.get("/staff")
    warning = re.search(r'<p class="warning" id="no-area-warning"[^>]*>(.*?)</p>', page.text, re.S)
    assert warning and "Dewi Koordinator" in warning.group(1)
    dewi = await _staff(db, "Dewi Koordinator")
    assert "belum punya wilayah" in _row(page.text, dewi.id)


def test_every_area_offered_is_one_the_app_accepts() -> None:
    options = admin.area_options()
    assert len(options) == len(regions.kabkota_list()) + sum(
        len(regions.kecamatan_of(k.code)) for k in regions.kabkota_list()
    )
    for label in options:
        code = admin._area_code(None, label)  # type: ignore[arg-type]
        assert regions.get(code) is not None and label.endswith(f"({code})")
    assert "Kota Serang › Kasemen (367302)" in options and "Kota Serang (3673)" in options


async def test_the_lock_shows_and_an_admin_lifts_it(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    asep = await add_staff(db, "Asep", "coordinator", ("3673",))
    now = datetime.now(UTC)
    async with db.session() as session:
        for _ in range(auth.MAX_FAILURES):
            await auth.record_failure(session, auth.name_key("asep"), now, "192.0.2.5")
    await login(client, "Admin")
    assert "login terkunci" in _row((await client.get("/staff")).text, asep)
    assert (await _post(client, f"/staff/{asep}/unlock")).status_code == 303
    assert "login terkunci" not in _row((await client.get("/staff")).text, asep)


async def test_leads_follow_coordinators(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    waiting = await add_lead(db, cipher, name="Menunggu Kasemen")  # before Kasemen had a coordinator
    lebak = await add_lead(db, cipher, name="Di Lebak", kecamatan=MUNCANG)
    await login(client, "Admin")

    # A coordinator created for the area picks up its unassigned leads, not those elsewhere.
    r = await _post(client, "/staff/add", **NEW_COORDINATOR, area=["Kasemen"])
    assert r.status_code == 303 and r.headers["location"] == "/staff?picked_up=1"
    assert (
        "1 calon peserta yang belum ditugaskan kini punya koordinator" in (await client.get(r.headers["location"])).text
    )
    dewi = (await _staff(db, "Dewi Koordinator")).id
    kota = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    async with db.session() as session:
        assert (await session.get(Lead, waiting)).assigned_staff_id == dewi  # type: ignore[union-attr]
        assert (await session.get(Lead, lebak)).assigned_staff_id is None  # type: ignore[union-attr]
    done = await add_lead(db, cipher, name="Sudah Terdaftar", status="registered", assigned=dewi)

    # Deactivated: her open leads go to the other coordinator of the area; finished ones stay hers.
    r = await _post(client, f"/staff/{dewi}", role="coordinator", area=["Kasemen"], active="")
    assert r.headers["location"] == "/staff?passed_on=1"
    async with db.session() as session:
        assert (await session.get(Lead, waiting)).assigned_staff_id == kota  # type: ignore[union-attr]
        assert (await session.get(Lead, done)).assigned_staff_id == dewi  # type: ignore[union-attr]
        note = await session.scalar(
            select(LeadEvent.note).where(LeadEvent.lead_id == waiting).order_by(LeadEvent.id.desc())
        )
        assert note == "[reassign] Dewi Koordinator → Koor Kota"

    # The last coordinator of the area loses it: the lead is unassigned again, and the office sees so.
    r = await _post(client, f"/staff/{kota}", role="coordinator", area=["Lebak"], active="yes")
    assert r.headers["location"] == "/staff?picked_up=1&pooled=1"  # Lebak's lead picked up, Kasemen's pooled
    page = (await client.get(r.headers["location"])).text
    assert "1 calon peserta kembali belum ditugaskan" in page
    assert "Belum ditugaskan" in (await client.get(f"/leads/{waiting}")).text
    async with db.session() as session:
        assert (await session.get(Lead, waiting)).assigned_staff_id is None  # type: ignore[union-attr]
        assert (await session.get(Lead, lebak)).assigned_staff_id == kota  # type: ignore[union-attr]
        audit = await session.scalar(
            select(AuditLog).where(AuditLog.action == "staff_changed").order_by(AuditLog.id.desc())
        )
        assert audit is not None and audit.detail["leads"] == {"picked_up": 1, "passed_on": 0, "pooled": 1}

    # Active again with the area: the pooled lead comes back to her.
    r = await _post(client, f"/staff/{dewi}", role="coordinator", area=["Kota Serang › Kasemen (367302)"], active="yes")
    assert r.headers["location"] == "/staff?picked_up=1"
    async with db.session() as session:
        assert (await session.get(Lead, waiting)).assigned_staff_id == dewi  # type: ignore[union-attr]


async def test_bulk_reassign_in_the_leads_list(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    kota = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    lebak = await add_staff(db, "Koor Lebak", "coordinator", ("3602",))
    first = await add_lead(db, cipher, name="Satu Kasemen")
    second = await add_lead(db, cipher, name="Dua Kasemen")
    far = await add_lead(db, cipher, name="Tiga Lebak", kecamatan=MUNCANG)
    await login(client, "Admin")
    page = await client.get("/leads?assigned=none")
    assert page.text.count('name="lead" value=') == 3 and 'form="bulk"' in page.text
    token = await csrf_of(client, "/leads")
    r = await client.post("/leads/assign", data={"csrf": token, "staff_id": str(kota), "lead": [first, second, far],
                                                 "back": "assigned=none&status=new"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/leads?status=new&assigned=none&moved=2&outside=1"
    page = await client.get(r.headers["location"])
    assert "2 calon peserta dialihkan. 1 tidak dialihkan: di luar wilayah koordinator itu." in page.text
    assert page.text.count('name="lead" value=') == 1  # only the Lebak one is still unassigned
    async with db.session() as session:
        owners = {lead.id: lead.assigned_staff_id for lead in (await session.scalars(select(Lead))).all()}
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "leads_reassigned"))
    assert owners == {first: kota, second: kota, far: None}
    assert audit is not None and audit.detail == {"lead_ids": [first, second], "after": kota, "outside": 1}
    assert "[reassign] — → Koor Kota" in (await client.get(f"/leads/{first}")).text

    # One lead at a time follows the same rule; back to the pool is allowed.
    token = await csrf_of(client, f"/leads/{far}")
    assert (await client.post(f"/leads/{far}/assign", data={"csrf": token, "staff_id": str(kota)})).status_code == 400
    assert (await client.post(f"/leads/{far}/assign", data={"csrf": token, "staff_id": str(lebak)})).status_code == 303
    assert (
        await client.post("/leads/assign", data={"csrf": token, "staff_id": "", "lead": [first]})
    ).status_code == 303
    async with db.session() as session:
        assert (await session.get(Lead, far)).assigned_staff_id == lebak  # type: ignore[union-attr]
        assert (await session.get(Lead, first)).assigned_staff_id is None  # type: ignore[union-attr]


async def test_a_coordinator_cannot_reassign(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    koor = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    lead = await add_lead(db, cipher, name="Satu Kasemen")
    await login(client, "Koor Kota")
    page = await client.get("/leads")
    # They tick leads to mark them (issue 16 item 3), never to reassign them.
    assert 'id="bulk-mark"' in page.text and 'id="bulk-assign"' not in page.text and 'name="staff_id"' not in page.text
    token = await csrf_of(client, "/leads")
    r = await client.post("/leads/assign", data={"csrf": token, "staff_id": str(koor), "lead": [lead]})
    assert r.status_code == 403


async def test_the_office_sees_leads_without_a_coordinator(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Staf Kantor", "staff")
    await add_lead(db, cipher, name="Tanpa Koordinator")
    await add_lead(db, cipher, name="Sudah Selesai", status="declined")
    await login(client, "Staf Kantor")
    overview = (await client.get("/")).text
    link = re.search(r'<p class="warning" id="unassigned"><a href="([^"]+)">([^<]+)</a>', overview)
    assert link and link.group(2).startswith("1 calon peserta belum punya koordinator")
    listed = (await client.get(unescape(link.group(1)))).text
    assert "Tanpa Koordinator" in listed  # (the finished one is listed too, not counted: nothing to do)
