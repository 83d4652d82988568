"""Staff commands through the engine: who may use them, and a coordinator's areas enforced in SQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels import registry
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
        await repo.add_staff(
            session, name="Koor Taktakan", role="coordinator", identities={"telegram": "100"}, areas=["367306"]
        )
        await repo.add_staff(
            session, name="Koor Kota", role="coordinator", identities={"telegram": "101"}, areas=["3673"]
        )
        await repo.add_staff(session, name="Admin", role="admin", identities={"telegram": "102"})
        await repo.add_staff(session, name="Petugas", role="staff", identities={"telegram": "103"})
        await repo.add_staff(session, name="Tanpa Wilayah", role="coordinator", identities={"telegram": "104"})
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


# -- /broadcast (needs the engine to route state steps `staff_broadcast:` to staff.broadcast_answer) --


async def _broadcasts(engine: Any) -> list[Any]:
    from storage.campaign_models import Broadcast

    async with engine.db.session() as session:
        return list((await session.scalars(select(Broadcast).order_by(Broadcast.id))).all())


async def _wa_contacts(engine: Any, n: int, region: str) -> None:
    from storage.models import Contact

    async with engine.db.session() as session:
        session.add_all(
            Contact(channel="whatsapp", external_id=f"62812{region}{i:04d}", region_code=region) for i in range(n)
        )


async def test_broadcast_template_area_preview_confirm(engine: Any, seeded: dict[str, int]) -> None:
    await _wa_contacts(engine, 5, "3673")  # Kota Serang, never wrote: outside the 24-hour window
    await _wa_contacts(engine, 2, "3672")
    petugas = _chat(engine, "103")
    await petugas.say("/broadcast")
    assert "Siaran baru" in petugas.text
    assert {"Pasar", "Relief", "Sosialisasi", "Batal"} <= set(petugas.labels())
    await petugas.press("Sosialisasi")
    assert "*tempat*" in petugas.text
    await petugas.say("Kel. Cipare")
    assert "*tanggal*" in petugas.text
    await petugas.say("31 Desember")
    assert "bukan tanggal" in petugas.text
    await petugas.say("01-12-2026")
    assert "*jam*" in petugas.text
    await petugas.say("09.00")
    assert "Kota Serang" in petugas.labels() and "Semua wilayah" in petugas.labels()
    await petugas.press("Kota Serang")
    text = petugas.text
    assert "Pratinjau siaran* ke Kota Serang" in text and "Penerima: 5 (Whatsapp 5)" in text
    assert "batas harian 250" in text and "2% dari batas sehari" in text  # 5 of 250
    assert "Kel. Cipare, 1 Desember 2026 pukul 09.00" in text
    assert petugas.labels() == ["Kirim sekarang", "Batal"]
    assert await _broadcasts(engine) == []  # nothing before the confirmation
    await petugas.press("Kirim sekarang")
    [b] = await _broadcasts(engine)
    assert f"Siaran #{b.id} dibuat" in petugas.text and f"broadcast status {b.id}" in petugas.text
    assert (b.template, b.segment, b.status) == ("broadcast_sosialisasi", {"area": "3673"}, "scheduled")
    assert b.created_by == "staff:4"
    assert b.variables == {"place": "Kel. Cipare", "date": "2026-12-01", "time": "09.00"}
    await petugas.press_payload("s:bc:go", "Kirim sekarang")  # pressed twice: one broadcast
    assert "tidak berlaku" in petugas.text and len(await _broadcasts(engine)) == 1
    await petugas.say(f"/broadcast {b.id}")
    assert f"Siaran #{b.id}*: terjadwal" in petugas.text
    async with engine.db.session() as session:
        audits = (await session.scalars(select(AuditLog).where(AuditLog.action == "broadcast_create"))).all()
    assert [a.detail["broadcast_id"] for a in audits] == [b.id]


async def test_broadcast_typed_text_to_everyone(engine: Any, seeded: dict[str, int]) -> None:
    await _wa_contacts(engine, 3, "3602")
    admin = Chat(engine, user="102", channel="telegram", language_hint="en")
    await admin.say("/broadcast")
    await admin.say("Kantor tutup Senin.\nPelayanan buka lagi Selasa pukul 08.00.")
    await admin.say("everyone")  # typed instead of pressed
    assert "to every area" in admin.text
    assert "Recipients: 4 (Telegram 1, Whatsapp 3)" in admin.text  # the admin's own chat too
    assert "Pelayanan buka lagi Selasa" in admin.text and admin.labels() == ["Send now", "Cancel"]
    await admin.say("hmm")
    assert "Send now" in admin.text
    await admin.say("send now")
    [b] = await _broadcasts(engine)
    assert b.text == "Kantor tutup Senin.\nPelayanan buka lagi Selasa pukul 08.00." and b.template is None
    assert b.segment == {} and b.channels == ",".join(registry.bulk_names())  # every channel that sends in bulk


async def test_broadcast_cancel_and_not_entitled(engine: Any, seeded: dict[str, int]) -> None:
    petugas = _chat(engine, "103")
    await petugas.say("/broadcast")
    await petugas.press("Relief")
    await petugas.say("batal")
    assert "tidak jadi dikirim" in petugas.text
    await petugas.say("Halo semua")  # no longer composing: an ordinary message
    assert "Pratinjau" not in petugas.text
    await petugas.say("/broadcast")
    await petugas.say("x" * 4000)
    assert "paling panjang 3.500" in petugas.text
    await petugas.say("/batal")
    assert "tidak jadi dikirim" in petugas.text
    await petugas.say("/broadcast")
    await petugas.say("/start")  # not a broadcast text: the broadcast is left, the greeting comes
    assert "Pratinjau" not in petugas.text and "wilayah" not in petugas.text
    await petugas.say("/broadcast")
    await petugas.say("/stats")  # another command leaves the broadcast
    assert "Statistik lead" in petugas.text
    await petugas.press_payload("s:bc:tpl:broadcast_relief", "Relief")
    assert "tidak berlaku" in petugas.text
    koor = _chat(engine, "100")  # a coordinator works leads; broadcasts are for staff and admins
    await koor.say("/broadcast")
    assert "Silakan pilih topik" in koor.text
    worker = _chat(engine, "999")
    await worker.say("/broadcast")
    assert "Silakan pilih topik" in worker.text
    await worker.press_payload("s:bc:go", "Kirim sekarang")
    assert "tidak berlaku" in worker.text
    # Staff removed in the middle of composing: the next step is refused.
    await petugas.say("/broadcast")
    await petugas.say("Pengumuman penting")
    async with engine.db.session() as session:
        staff = await repo.staff_for(session, "telegram", "103")
        staff.active = False
    await petugas.press_payload("s:bc:area:all", "Semua wilayah")
    assert "tidak berlaku" in petugas.text
    assert await _broadcasts(engine) == []
