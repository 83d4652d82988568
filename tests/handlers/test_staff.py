"""Staff commands through the engine: who may use them, and a coordinator's areas enforced in SQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from storage import repositories as repo
from storage.models import AuditLog, Lead, LeadEvent
from tests.factories import Chat


def _lead(name: str, kecamatan: str, cipher: Any, nik: str, status: str = "new") -> Lead:
    return Lead(
        full_name=name, nik_encrypted=cipher.encrypt(nik), nik_hash=cipher.keyed_hash(nik),
        nik_masked=nik[:4] + "*" * 10 + nik[-2:], birth_date=date(1990, 8, 15), phone_e164="+6281234567890",
        kabkota_code=kecamatan[:4], kecamatan_code=kecamatan, occupation="pedagang", declared_income=1_500_000,
        programmes=2, continue_via="call", status=status, timezone="Asia/Jakarta", channel="telegram",
    )  # fmt: skip


@pytest.fixture
async def seeded(engine: Any, cipher: Any) -> dict[str, int]:
    async with engine.db.session() as session:
        leads = [
            _lead("Ani Taktakan", "367306", cipher, "3673065508900001"),
            _lead("Budi Kasemen", "367302", cipher, "3673024107850002"),
            _lead("Citra Cilegon", "367201", cipher, "3672014107850003"),
            _lead("Dedi Lama", "367306", cipher, "3673064107850004", status="registered"),
        ]
        session.add_all(leads)
        await repo.add_staff(session, name="Koor Taktakan", role="coordinator", telegram_id="100", areas=["367306"])
        await repo.add_staff(session, name="Koor Kota", role="coordinator", telegram_id="101", areas=["3673"])
        await repo.add_staff(session, name="Admin", role="admin", telegram_id="102")
        await repo.add_staff(session, name="Petugas", role="staff", telegram_id="103")
        await repo.add_staff(session, name="Tanpa Wilayah", role="coordinator", telegram_id="104")
        await session.flush()
        return {lead.full_name.split()[0].lower(): lead.id for lead in leads}


def _chat(engine: Any, user: str) -> Chat:
    return Chat(engine, user=user, channel="telegram")


async def test_coordinator_sees_only_their_areas(engine: Any, seeded: dict[str, int]) -> None:
    koor = _chat(engine, "100")
    await koor.say("/leads")
    assert "Ani Taktakan" in koor.text and "Budi" not in koor.text and "Citra" not in koor.text
    assert "Dedi" not in koor.text  # registered: not a new lead
    kota = _chat(engine, "101")
    await kota.say("/leads")
    assert "Ani" in kota.text and "Budi" in kota.text and "Citra" not in kota.text
    admin = _chat(engine, "102")
    await admin.say("/leads")
    assert all(name in admin.text for name in ("Ani", "Budi", "Citra"))
    nobody = _chat(engine, "104")
    await nobody.say("/leads")
    assert "Belum ada lead baru" in nobody.text


async def test_lead_detail_and_other_areas_hidden(engine: Any, seeded: dict[str, int]) -> None:
    koor = _chat(engine, "100")
    await koor.say(f"/lead {seeded['ani']}")
    assert "3673**********01" in koor.text and "+6281234567890" in koor.text
    await koor.say(f"/lead {seeded['citra']}")
    assert "tidak ada di wilayahmu" in koor.text
    await koor.say("/lead")
    assert "/lead 12" in koor.text
    await koor.say("/lead@bpu_test_bot 99999")
    assert "tidak ada di wilayahmu" in koor.text


async def test_status_buttons_and_forged_payloads(engine: Any, seeded: dict[str, int]) -> None:
    koor = _chat(engine, "100")
    await koor.say("/leads")
    await koor.press("Terdaftar")
    assert "sudah terdaftar" in koor.text
    # A payload for another area's lead, forged or from an old chat: the SQL finds nothing.
    await koor.press_payload(f"s:st:{seeded['citra']}:contacted")
    assert "tidak ada di wilayahmu" in koor.text
    await koor.press_payload(f"s:st:{seeded['ani']}:bogus")
    async with engine.db.session() as session:
        statuses = dict((await session.execute(select(Lead.full_name, Lead.status))).all())
        events = (await session.scalars(select(LeadEvent))).all()
        audits = (await session.scalars(select(AuditLog).where(AuditLog.action == "lead_status"))).all()
    assert statuses["Ani Taktakan"] == "registered" and statuses["Citra Cilegon"] == "new"
    assert [(e.lead_id, e.status, e.staff_id is not None) for e in events] == [(seeded["ani"], "registered", True)]
    assert len(audits) == 1


async def test_not_entitled_get_the_menu(engine: Any, seeded: dict[str, int]) -> None:
    worker = _chat(engine, "999")
    for text in ("/leads", f"/lead {seeded['ani']}", "/stats"):
        await worker.say(text)
        assert "Silakan pilih topik" in worker.text and "Ani" not in worker.text
    petugas = _chat(engine, "103")
    await petugas.say("/leads")
    assert "Silakan pilih topik" in petugas.text
    await worker.press_payload(f"s:st:{seeded['ani']}:declined")
    assert "tidak berlaku" in worker.text
    console = Chat(engine, user="100", channel="console")  # a staff id on another channel is nobody
    await console.say("/leads")
    assert "Ani" not in console.text


async def test_staff_checked_on_every_call(engine: Any, seeded: dict[str, int]) -> None:
    koor = _chat(engine, "100")
    await koor.say("/leads")
    async with engine.db.session() as session:
        staff = await repo.staff_for(session, "telegram", "100")
        assert staff is not None
        staff.active = False
    await koor.press("Dihubungi")
    assert "tidak berlaku" in koor.text
    await koor.say("/leads")
    assert "Ani" not in koor.text


async def test_stats(engine: Any, seeded: dict[str, int]) -> None:
    petugas = _chat(engine, "103")
    await petugas.say("/stats")
    assert "Statistik lead" in petugas.text and ": 4" in petugas.text and "sudah terdaftar: 1" in petugas.text
    assert "Kontak:" in petugas.text
    koor = _chat(engine, "100")
    await koor.say("/stats")
    assert ": 2" in koor.text and "Taktakan" in koor.text and "Kontak:" not in koor.text


async def test_english_staff(engine: Any, seeded: dict[str, int]) -> None:
    koor = Chat(engine, user="100", channel="telegram", language_hint="en")
    await koor.say("/leads")
    assert "New leads" in koor.text and "Contacted" in koor.labels()


async def test_note(engine: Any, seeded: dict[str, int]) -> None:
    koor = _chat(engine, "100")
    await koor.say("/leads")
    await koor.press("Catatan")
    assert "Tulis catatan" in koor.text
    await koor.say("Sudah ditelepon, minta didatangi Sabtu")
    assert "tersimpan" in koor.text
    await koor.press_payload(f"s:note:{seeded['ani']}")
    await koor.say("batal")
    assert "tidak disimpan" in koor.text
    await koor.say(f"/lead {seeded['ani']}")
    assert "minta didatangi Sabtu" in koor.text
