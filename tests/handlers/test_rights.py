from sqlalchemy import func, select

from storage.models import AuditLog, Contact, Lead, MessageLog
from tests.factories import Chat
from tests.forms import NIK, fill_to_summary


async def test_stop_and_start_again(engine) -> None:
    chat = Chat(engine)
    await chat.say("STOP!")
    assert "tidak akan menerima" in chat.text
    async with engine.db.session() as s:
        contact = await s.scalar(select(Contact))
        assert contact is not None and contact.opted_out_at is not None
    await chat.say("mulai")
    async with engine.db.session() as s:
        contact = await s.scalar(select(Contact))
        assert contact is not None and contact.opted_out_at is None


async def test_my_data_shows_what_is_kept_masked(engine) -> None:
    chat = Chat(engine)
    await fill_to_summary(chat)
    await chat.press("Kirim")
    await chat.say("data saya")
    assert "Siti Aminah" in chat.text and "3673**********01" in chat.text and NIK not in chat.text
    assert "Taktakan" in chat.text


async def test_delete_my_data_after_confirmation(engine) -> None:
    chat = Chat(engine)
    await fill_to_summary(chat)
    await chat.press("Kirim")
    await chat.say("hapus data saya")
    assert "Yakin" in chat.text
    await chat.say("tidak")
    assert "tidak dihapus" in chat.text
    await chat.say("hapus data saya")
    await chat.press("Ya, hapus")
    assert "sudah kami hapus" in chat.text
    async with engine.db.session() as s:
        for model in (Lead, MessageLog, Contact):
            assert await s.scalar(select(func.count()).select_from(model)) == 0
        actions = (await s.scalars(select(AuditLog.action))).all()
        assert "data_deleted" in actions
    await chat.say("halo")  # a fresh start afterwards
    assert "BPJS" in chat.text


async def test_an_old_delete_button_never_deletes_without_asking(engine) -> None:
    chat = Chat(engine)
    await chat.say("halo")
    await chat.press_payload("del:yes")
    assert "Yakin" in chat.text
    async with engine.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Contact)) == 1


async def test_message_log_masks_personal_numbers(engine) -> None:
    chat = Chat(engine)
    await chat.say(f"nik saya {NIK} hp 081234567890")
    async with engine.db.session() as s:
        texts = (await s.scalars(select(MessageLog.text))).all()
    assert texts and not any(NIK in t or "081234567890" in t for t in texts)
