"""A coordinator adds a worker met door to door, from chat (/tambah, "tambah peserta")."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import repositories as repo
from storage.models import AuditLog, Contact, Lead, LeadEvent
from tests.factories import Chat


async def fill(chat: Chat) -> None:
    # The coordinator types for the worker: the prompts speak of "peserta", never "-mu" / "kamu".
    await chat.press("Setuju")
    prompts = [chat.text]
    for answer in ("Asep Saepudin", "3604011203800007", "12-03-1980"):
        await chat.say(answer)
        prompts.append(chat.text)
    assert "Pakai nomor ini" not in chat.labels()  # the chat's own number is the coordinator's
    await chat.say("0813 1111 2222")
    prompts.append(chat.text)
    await chat.press("Kab. Serang")
    await chat.say("cinangka")
    prompts.append(chat.text)
    await chat.press("Nelayan")
    await chat.say("1 juta")
    prompts.append(chat.text)
    await chat.press("2 program")
    prompts.append(chat.text)
    await chat.press("Didatangi")
    assert "Asep Saepudin" in chat.text and "data peserta" in chat.text
    prompts.append(chat.text)
    said = "\n".join(prompts)
    for asked in ("nama lengkap* peserta", "NIK* peserta", "tanggal lahir* peserta", "nomor HP* peserta",
                  "Peserta tinggal", "pekerjaan* peserta", "Peserta mau ikut", "bagaimana peserta"):  # fmt: skip
        assert asked in said, asked
    assert "mu?" not in said and "kamu" not in said.lower()
    await chat.press("Kirim")


@pytest.mark.parametrize(
    ("channel", "user", "words"), [("telegram", "500", "/tambah"), ("whatsapp", "6281299998888", "tambah peserta")]
)
async def test_coordinator_adds_a_worker_met_in_person(engine, channel: str, user: str, words: str) -> None:
    async with engine.db.session() as s:
        koor = await repo.add_staff(
            s,
            name="Rina",
            role="coordinator",
            identities={"telegram": "500", "whatsapp": "+6281299998888"},
            areas=["3604"],
        )
    chat = Chat(engine, user=user, channel=channel, phone_hint="+6281299998888" if channel == "whatsapp" else None)
    await chat.say(words)
    assert "setuju langsung kepadamu" in chat.text
    await fill(chat)
    assert "tersimpan" in chat.text and "persetujuan langsung" in chat.text
    async with engine.db.session() as s:
        lead = await s.scalar(select(Lead))
        assert lead is not None and lead.contact_id is None
        assert lead.created_by_staff_id == koor.id and lead.assigned_staff_id == koor.id
        assert lead.phone_e164 == "+6281311112222" and lead.kecamatan_code.startswith("3604")
        event = await s.scalar(select(LeadEvent))
        assert event is not None and "Rina" in (event.note or "")
        assert "lead_field_entry" in (await s.scalars(select(AuditLog.action))).all()
        coordinator_chat = await s.scalar(select(Contact))
        assert coordinator_chat is not None and coordinator_chat.consent_at is None  # not the coordinator's consent


async def test_anyone_else_typing_it_gets_the_ordinary_answer(engine) -> None:
    chat = Chat(engine, user="999", channel="telegram")
    await chat.say("/tambah")
    assert "setuju langsung" not in chat.text and "Daftar" in chat.labels()


async def test_a_kecamatan_outside_the_coordinators_areas_is_refused_in_chat(engine) -> None:
    """Kota Serang's coordinator meets a worker from Ciruas (Kab. Serang): chat refuses it as the
    dashboard does, so no lead is saved to a coordinator who could then not open it."""
    async with engine.db.session() as s:
        await repo.add_staff(s, name="Budi", role="coordinator", identities={"telegram": "501"}, areas=["3673"])
    chat = Chat(engine, user="501", channel="telegram")
    await chat.say("/tambah")
    await chat.press("Setuju")
    for answer in ("Asep Saepudin", "3604011203800007", "12-03-1980", "0813 1111 2222"):
        await chat.say(answer)
    await chat.press("Kab. Serang")
    await chat.say("ciruas")
    assert "di luar wilayah" in chat.text
    await chat.press("Kembali")
    await chat.press("Kota Serang")
    await chat.say("taktakan")
    assert "pekerjaan" in chat.text.lower()
