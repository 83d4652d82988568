"""A handover a coordinator can act on (issue 13, item 7): the worker's question in their words
(never a button label), a phone when none is known, the kecamatan when unknown, and later
messages added to the request, never written over it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from content import regions
from storage.dashboard_models import CallbackRequest
from storage.models import Contact
from tests.factories import Chat

CIPOCOK = next(r for kk in regions.kabkota_list() for r in regions.kecamatan_of(kk.code) if r.name == "Cipocok Jaya")
PERSON = {"id": "Bicara ke petugas", "en": "Talk to an officer"}
# In the worker's language: a worker who writes Indonesian is answered in Indonesian.
QUESTION = {"id": "kartu peserta ayah saya hilang waktu banjir", "en": "my father lost his member card in the flood"}


async def _request(db) -> CallbackRequest:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        (row,) = (await s.scalars(select(CallbackRequest))).all()
        return row


async def _phone(db, user: str = "w1") -> str | None:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        return await s.scalar(select(Contact.phone_e164).where(Contact.external_id == user))


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_the_question_before_the_button_the_phone_and_the_kecamatan(engine, db, lang: str) -> None:
    chat = Chat(engine, language_hint=lang)
    await chat.say("asdfgh")
    await chat.say(QUESTION[lang])
    await chat.press(PERSON[lang])
    assert "081234567890" in chat.text  # the example of the phone asked for
    assert "175" in chat.text
    await chat.say("0812 3456 7890")
    assert "kecamatan" in chat.text.lower()
    await chat.say("Cipocok Jaya")
    assert "+6281*******90" in chat.text
    request = await _request(db)
    assert QUESTION[lang] in request.question
    assert PERSON[lang] not in request.question and "[button]" not in request.question
    assert request.kecamatan_code == CIPOCOK.code
    assert await _phone(db) == "+6281234567890"
    assert chat.labels()  # the flow's follow-up buttons come back at the end


async def test_the_label_typed_out_is_not_the_question(engine, db) -> None:
    chat = Chat(engine, channel="whatsapp", user="6281311112222")
    await chat.say("Bicara ke petugas")
    await chat.say("lewati")
    request = await _request(db)
    assert request.question == ""


async def test_whatsapp_has_the_number_already(engine, db) -> None:
    chat = Chat(engine, channel="whatsapp", user="6281311112222")
    await chat.say("saya mau bicara dengan petugas soal klaim JHT")
    assert "kecamatan" in chat.text.lower() and "081234567890" not in chat.text


@pytest.mark.parametrize(("lang", "skip"), [("id", "lewati"), ("en", "skip")])
async def test_the_phone_and_the_area_can_be_skipped(engine, db, lang: str, skip: str) -> None:
    chat = Chat(engine, language_hint=lang)
    await chat.say("saya mau bicara dengan petugas")
    await chat.say(skip)
    await chat.say(skip)
    assert "Senin-Jumat" in chat.text
    assert await _phone(db) is None and (await _request(db)).kecamatan_code is None


async def test_an_unknown_place_is_kept_as_written(engine, db) -> None:
    chat = Chat(engine, channel="whatsapp", user="6281311112222")
    await chat.say("tolong hubungi saya")
    await chat.say("Kampung Rawa")
    assert "Senin-Jumat" in chat.text
    assert "kecamatan: Kampung Rawa" in (await _request(db)).question


async def test_later_messages_add_to_the_request(engine, db) -> None:
    chat = Chat(engine, channel="whatsapp", user="6281311112222")
    await chat.say("saya mau bicara dengan petugas soal klaim JHT")
    await chat.say("Cipocok Jaya")
    await chat.say("mau ngobrol sama petugas, nik saya 3673015508900001 belum terdaftar")
    assert "sebelumnya" in chat.text
    question = (await _request(db)).question
    assert question.startswith("saya mau bicara dengan petugas soal klaim JHT")
    assert "belum terdaftar" in question and "3673015508900001" not in question


async def test_a_question_at_the_phone_step_is_added_and_answered(engine, db) -> None:
    chat = Chat(engine)
    await chat.say("saya mau bicara dengan petugas")
    await chat.say("berapa iuran minimal?")
    assert "Rp16.800" in chat.text
    assert "berapa iuran minimal?" in (await _request(db)).question


async def test_a_phone_typed_in_the_request_is_not_asked_again(engine, db) -> None:
    chat = Chat(engine)
    await chat.say("tolong telepon saya di 081234567890, mau tanya soal JKK")
    assert "081234567890" not in chat.text and "kecamatan" in chat.text.lower()
    assert await _phone(db) == "+6281234567890"


async def test_thanks_at_the_kecamatan_question_is_not_a_place(engine, db) -> None:
    chat = Chat(engine, channel="whatsapp", user="6281311112222")
    await chat.say("mau bicara dengan petugas")
    await chat.say("makasih ya")
    assert "Sama-sama" in chat.text
    assert "kecamatan:" not in (await _request(db)).question


async def test_a_greeting_before_the_request_is_not_part_of_the_question(engine, db) -> None:
    chat = Chat(engine, channel="whatsapp", user="6281311112222")
    await chat.say("halo")
    await chat.say("iuran saya dobel kepotong bulan ini")
    await chat.say("mau bicara dengan petugas")
    question = (await _request(db)).question
    assert question.startswith("iuran saya dobel kepotong bulan ini") and "halo" not in question
