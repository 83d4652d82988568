"""The lead form: every step, its errors, going back, cancelling, editing, resuming."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.engine import Engine
from storage.models import Contact, ConversationState, Lead
from tests.factories import Chat
from tests.forms import NIK, consent_then, count, fill_to_summary


async def test_whole_form_saves_a_new_lead(engine) -> None:
    chat = Chat(engine, user="form-1", start_code=None)
    await fill_to_summary(chat)
    summary = chat.text
    assert "Siti Aminah" in summary and "3673**********01" in summary and NIK not in summary
    assert "Taktakan" in summary and "Kota Serang" in summary and "Rp1.500.000" in summary
    assert "+6281234567890" not in summary  # the phone is masked too
    await chat.press("Kirim")
    assert "sudah kami terima" in chat.text
    async with engine.db.session() as s:
        lead = await s.scalar(select(Lead))
        assert lead is not None
        assert (lead.status, lead.kecamatan_code, lead.kabkota_code) == ("new", "367306", "3673")
        assert lead.phone_e164 == "+6281234567890" and lead.timezone == "Asia/Jakarta"
        assert lead.occupation == "trader" and not lead.is_transport
        assert lead.declared_income == 1_500_000 and lead.programmes == 2 and lead.continue_via == "call"
        assert lead.nik_masked == "3673**********01"
        assert engine.services.cipher.decrypt(lead.nik_encrypted) == NIK
        contact = await s.get(Contact, lead.contact_id)
        assert contact is not None and contact.consent_at is not None and contact.consent_version
        state = await s.get(ConversationState, contact.id)
        # The form is over; what is left is the offer of reminders, answered with a word or a button.
        assert state is not None and state.step == "reminder:offer" and "form" not in state.data


async def test_database_file_never_holds_the_nik_in_clear(engine, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("reads the SQLite file itself")
    chat = Chat(engine, user="form-clear")
    await fill_to_summary(chat)
    path = Path(db_url.removeprefix("sqlite:///"))
    mid_form = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert NIK.encode() not in mid_form
    await chat.press("Kirim")
    await engine.db.dispose()  # checkpoint the WAL into the file
    everything = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert NIK.encode() not in everything and b"3673**********01" in everything


async def test_campaign_code_from_a_deep_link_reaches_the_lead(engine) -> None:
    chat = Chat(engine, user="form-camp")
    await chat.send(text="/start pasar-rau", start_code="pasar-rau")
    await fill_to_summary(chat)
    await chat.press("Kirim")
    async with engine.db.session() as s:
        lead = await s.scalar(select(Lead))
        assert lead is not None and lead.campaign_code == "pasar-rau"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("12345", "16 angka"),
        ("3673013102900001", "tidak ada di kalender"),
        ("36730155089000ab", "hanya berisi angka"),
    ],
)
async def test_bad_nik_is_explained_and_asked_again(engine, answer: str, message: str) -> None:
    chat = Chat(engine)
    await consent_then(chat, "Budi", answer)
    assert message in chat.text and "NIK" in chat.text
    await chat.say(NIK)
    assert "tanggal lahir" in chat.text.lower()


async def test_birth_date_must_agree_with_the_nik(engine) -> None:
    chat = Chat(engine)
    await consent_then(chat, "Budi", NIK)
    await chat.say("16-08-1990")
    assert "tidak sama" in chat.text and "15-08-90" in chat.text
    await chat.say("30-02-1990")
    assert "tidak ada di kalender" in chat.text
    await chat.say("15 agustus 1990")
    assert "nomor HP" in chat.text


async def test_unknown_nik_region_warns_but_goes_on(engine) -> None:
    chat = Chat(engine)
    await consent_then(chat, "Budi", "9999015508900001")
    assert "tidak ada di daftar" in chat.text and "tanggal lahir" in chat.text.lower()


async def test_question_in_the_middle_of_the_form(engine) -> None:
    chat = Chat(engine)
    await consent_then(chat, "Budi", NIK)
    await chat.say("15-08-1990")
    await chat.say("iurannya berapa sih?")
    assert "Rp16.800" in chat.text and "lanjutkan" in chat.text and "nomor HP" in chat.text
    await chat.say("08123456789")
    assert "kabupaten/kota" in chat.text


async def test_back_and_cancel(engine) -> None:
    chat = Chat(engine)
    await consent_then(chat, "Budi", "kembali")
    assert "nama lengkap*mu" in chat.text  # the worker's own form speaks to them
    await chat.say("Budi Santoso")
    await chat.press("Kembali")
    assert "nama lengkap" in chat.text
    await chat.say("batal")
    assert "dibatalkan" in chat.text
    assert await count(engine, Lead) == 0
    await chat.say("batal")
    assert "tidak ada yang perlu dibatalkan" in chat.text.lower()


async def test_regions_typed_forgivingly(engine) -> None:
    chat = Chat(engine)
    await consent_then(chat, "Budi", NIK, "15-08-1990", "081234567890")
    await chat.say("serang")  # Kota or Kab.? asked again with buttons
    assert "belum menemukan" in chat.text and "Kab. Serang" in chat.labels()
    await chat.say("kab serang")
    assert "kecamatan" in chat.text and "Kab. Serang" in chat.text
    await chat.say("jakarta selatan")
    assert "belum menemukan kecamatan" in chat.text
    await chat.say("ciruas")
    assert "pekerjaan" in chat.text


async def test_income_below_minimum_and_unreadable(engine) -> None:
    chat = Chat(engine)
    await consent_then(chat, "Budi", NIK, "15-08-1990", "081234567890")
    await chat.press("Kota Cilegon")
    await chat.press("Cibeber")
    await chat.say("ojol")
    await chat.say("800rb")
    assert "paling sedikit Rp1.000.000" in chat.text
    await chat.say("banyak deh")
    assert "belum bisa membaca" in chat.text
    await chat.say("2 juta")
    assert "3 program" in chat.text


async def test_edit_one_field_from_the_summary(engine) -> None:
    chat = Chat(engine)
    await fill_to_summary(chat)
    await chat.press("Ubah")
    await chat.press("Penghasilan")
    await chat.say("3 juta")
    assert "Periksa lagi" in chat.text and "Rp3.000.000" in chat.text
    await chat.press("Ubah")
    await chat.press("Kabupaten/kota")
    await chat.press("Kab. Lebak")
    await chat.say("rangkasbitung")
    assert "Periksa lagi" in chat.text and "Rangkasbitung" in chat.text


async def test_declining_consent_stores_nothing(engine) -> None:
    chat = Chat(engine)
    await chat.say("daftar")
    await chat.press("Tidak setuju")
    assert "Tidak ada data yang disimpan" in chat.text
    async with engine.db.session() as s:
        contact = await s.scalar(select(Contact))
        assert contact is not None and contact.consent_at is None


async def test_restart_in_the_middle_resumes_at_the_same_step(db_url, cipher, matcher, clock) -> None:
    from storage.db import Database

    first_db = Database(db_url)
    chat = Chat(Engine(first_db, cipher, matcher, clock=clock), user="resume")
    await consent_then(chat, "Budi Santoso", NIK)
    await first_db.dispose()  # the process dies here

    second_db = Database(db_url)
    try:
        again = Chat(Engine(second_db, cipher, matcher, clock=clock), user="resume")
        await again.say("15-08-1990")
        assert "nomor HP" in again.text
        await again.say("kembali")
        assert "tanggal lahir" in again.text.lower()
    finally:
        await second_db.dispose()


async def test_a_failure_mid_message_leaves_nothing_half_written(engine, monkeypatch) -> None:
    chat = Chat(engine)
    await fill_to_summary(chat)

    from handlers import lead_save

    async def broken_audit(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(lead_save.repo, "audit", broken_audit)
    await chat.press("Kirim")
    assert "gangguan" in chat.text
    assert await count(engine, Lead) == 0
    monkeypatch.undo()
    await chat.press_payload("f:summary:send")  # the summary is still there: the worker can send again
    assert "sudah kami terima" in chat.text and await count(engine, Lead) == 1


async def test_new_lead_goes_to_the_coordinator_of_its_kecamatan(engine) -> None:
    from storage import repositories as repo

    async with engine.db.session() as s:
        kota = await repo.add_staff(s, name="Kota", role="coordinator", identities={"telegram": "1"}, areas=["3673"])
        kec = await repo.add_staff(
            s, name="Taktakan", role="coordinator", identities={"telegram": "2"}, areas=["367306"]
        )
        await repo.add_staff(s, name="Other", role="coordinator", identities={"telegram": "3"}, areas=["3604"])
    chat = Chat(engine, user="assign")
    await fill_to_summary(chat)
    await chat.press("Kirim")
    async with engine.db.session() as s:
        lead = await s.scalar(select(Lead))
        assert lead is not None and lead.assigned_staff_id == kec.id != kota.id
