"""The Telegram channel through both backends (python-telegram-bot, aiogram) and both modes
(polling, webhook), against our fake Bot API server over real HTTP, with `bpu-bot run`'s
own HTTP app (lifespan starts the channel; webhooks arrive on its /webhook/telegram).

The whole contract runs on SQLite for each backend x mode; a smaller part runs on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storage import repositories as repo
from storage.crypto import FieldCipher
from storage.models import Contact, InboundUpdate, Lead, LeadEvent
from tests.channels import contract
from tests.channels.contract import joined, plain
from tests.channels.data.telegram.driver import COMBOS, IDS, TelegramDriver, running


@pytest.fixture(params=COMBOS, ids=IDS)
async def tg(
    request: pytest.FixtureRequest, sqlite_url: str, matcher: Any, clock: Any
) -> AsyncIterator[TelegramDriver]:
    backend, mode = request.param
    async with running(backend, mode, sqlite_url, matcher, clock) as driver:
        yield driver


# -- the wire format, SQLite, every backend x mode ------------------------------------------


async def test_wire_format(tg: TelegramDriver) -> None:
    """What the Bot API is asked for (the shared suite, tests/channels/test_contract.py, runs the
    whole conversation on every backend and mode)."""
    await contract.scenario_lead_form(tg)
    fake = tg.fake
    # The phone question carried a share-my-number keyboard; the next message took it away.
    asks = [m for m in fake.sent if m.markup and "keyboard" in m.markup]
    assert asks and asks[0].markup["keyboard"][0][0] == {"text": "Kirim nomor HP saya", "request_contact": True}
    after = fake.sent[fake.sent.index(asks[-1]) + 1]
    assert after.markup == {"remove_keyboard": True}
    assert all(m.parse_mode == "HTML" for m in fake.sent)
    assert any("<b>" in m.text for m in fake.sent)
    # Both libraries send form bodies, never JSON.
    assert {c.content_type for c in fake.calls_of("sendMessage")} <= {
        "application/x-www-form-urlencoded", "multipart/form-data"}  # fmt: skip


async def test_startup_calls(tg: TelegramDriver) -> None:
    fake = tg.fake
    assert fake.calls_of("getMe")
    assert [c["command"] for c in fake.commands[None]] == ["start", "menu", "bantuan", "berhenti", "hapus"]
    # From content/templates/<lang>/labels.yaml, in both languages.
    assert [c["description"] for c in fake.commands[None]][:2] == ["Mulai dari awal", "Tampilkan menu"]
    assert [c["description"] for c in fake.commands["en"]][:2] == ["Start over", "Show the menu"]
    if tg.channel.webhook_url:
        (call,) = fake.calls_of("setWebhook")
        assert call.params["url"].endswith("/webhook/telegram") and len(call.params["secret_token"]) >= 32
        assert call.params["allowed_updates"] == ["message", "edited_message", "callback_query", "my_chat_member"]
        assert not fake.calls_of("getUpdates")
    else:
        for _ in range(200):
            if fake.calls_of("getUpdates"):
                break
            await asyncio.sleep(0.01)
        assert fake.calls_of("deleteWebhook") and fake.calls_of("getUpdates")
        assert fake.calls_of("getUpdates")[0].params["allowed_updates"] == [
            "message", "edited_message", "callback_query", "my_chat_member"]  # fmt: skip


async def test_deep_link_campaign_on_contact_and_lead(tg: TelegramDriver) -> None:
    greeting = await tg.send_text("dl", "/start ojol_serang_2026")
    assert "BPJS Ketenagakerjaan" in plain(joined(greeting))
    await contract.scenario_lead_form(tg, user="dl")
    async with tg.runtime.db.session() as session:
        contact = await repo.get_contact(session, "telegram", str(tg.uid("dl")))
        assert contact is not None and contact.campaign_code == "ojol_serang_2026"
        (lead,) = await repo.leads_of_contact(session, contact.id)
        assert lead.campaign_code == "ojol_serang_2026" and lead.phone_e164 == "+6281234567890"


async def test_someone_elses_contact_is_not_their_phone(tg: TelegramDriver) -> None:
    await tg.send_text("sc", "mau daftar")
    await tg.press("sc", "Setuju")
    await tg.send_text("sc", "Siti Aminah")
    await tg.send_text("sc", "3673015508900001")
    await tg.send_text("sc", "15-08-1990")
    answer = plain(joined(await tg.share_contact("sc", "+6281111111111", owner="friend")))
    assert "kabupaten/kota" not in answer.lower() and "HP" in answer
    # The number typed by hand is still taken.
    assert "kabupaten/kota" in plain(joined(await tg.send_text("sc", "081234567890"))).lower()


async def test_edited_message_and_unsupported_content(tg: TelegramDriver) -> None:
    await tg.send_text("ed", "halo")
    edited = tg.message("ed", text="halo lagi", edit_date=int(time.time()))
    edited["edited_message"] = edited.pop("message")
    assert plain(joined(await tg.deliver("ed", edited)))
    assert plain(joined(await tg.deliver("ed", tg.message("ed", dice={"emoji": "🎲", "value": 3}))))


async def test_group_told_once_and_nothing_stored(tg: TelegramDriver) -> None:
    group = {"id": -100123, "type": "supergroup", "title": "Ojol Serang"}
    for text in ("/start", "halo bot"):
        update = tg.message("member", chat=group, text=text)
        before, mark = tg.channel.stats.processed, len(tg.fake.sent)
        await tg.fake.inject(update)
        await tg.channel.wait_processed(before + 1)
        sent = tg.fake.sent[mark:]
        if text == "/start":
            assert [m.chat_id for m in sent] == [-100123] and "chat pribadi" in plain(sent[0].text)
        else:
            assert sent == []
    async with tg.runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 0
        # Told once in the database, not in this process's memory: another process (or this one
        # after a restart) stays silent too.
        assert not await repo.first_time(session, "telegram:group", "-100123")


async def test_blocked_user_marked_unreachable_without_retry(tg: TelegramDriver) -> None:
    await tg.send_text("bl", "halo")
    tg.fake.blocked.add(tg.uid("bl"))
    mark = len(tg.fake.calls_of("sendMessage"))
    assert await tg.send_text("bl", "berapa iuran minimal?") == []
    assert len(tg.fake.calls_of("sendMessage")) == mark + 1, "a 403 is never retried"
    async with tg.runtime.db.session() as session:
        contact = await repo.get_contact(session, "telegram", str(tg.uid("bl")))
        assert contact is not None and contact.unreachable_at is not None


async def test_blocking_announced_by_my_chat_member(tg: TelegramDriver) -> None:
    await tg.send_text("mc", "halo")
    uid = tg.uid("mc")
    update = {
        "update_id": tg.fake.next_update_id(),
        "my_chat_member": {
            "chat": {"id": uid, "type": "private", "first_name": "Mc"}, "from": tg._user("mc"),
            "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": tg.fake._bot_user()},
            "new_chat_member": {"status": "kicked", "user": tg.fake._bot_user(), "until_date": 0},
        },
    }  # fmt: skip
    assert await tg.deliver("mc", update) == []
    async with tg.runtime.db.session() as session:
        contact = await repo.get_contact(session, "telegram", str(uid))
        assert contact is not None and contact.unreachable_at is not None


async def test_flood_control_waits_and_retries(tg: TelegramDriver) -> None:
    tg.fake.fail("sendMessage", 429, retry_after=1, chat_id=tg.uid("fl"))
    started = time.monotonic()
    bubbles = await tg.send_text("fl", "halo")
    assert "BPJS Ketenagakerjaan" in plain(joined(bubbles))
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in tg.fake.calls_of("sendMessage")][:2] == [429, 200]


async def test_stopping_finishes_the_replies_under_way(tg: TelegramDriver) -> None:
    """A restart while a reply is being sent (here: waiting out a 429) loses no bubble: the
    channel stops taking updates, lets those under way finish, and only then closes."""
    chat = tg.uid("st")
    tg.fake.fail("sendMessage", 429, retry_after=1, chat_id=chat)
    await tg.fake.inject(tg.message("st", text="halo"))
    for _ in range(500):
        if tg.fake.calls_of("sendMessage"):
            break
        await asyncio.sleep(0.01)
    assert tg.fake.calls_of("sendMessage"), "the reply never started"
    await tg.channel.stop()
    sent = tg.fake.messages_to(chat)
    assert len(sent) == 1 and "BPJS Ketenagakerjaan" in sent[0].text and sent[0].markup
    assert tg.channel.stats.send_failures == 0


async def test_an_answer_is_one_message_with_its_keyboard(tg: TelegramDriver) -> None:
    """One notification per answer: the greeting, its paragraphs and its menu in one sendMessage;
    the longest answer (JKK, with the death example) too."""
    chat = tg.uid("one")
    longest = "kalo meninggal gara2 kecelakaan kerja dpt brp?"  # JKK, with the death example
    for text, words in (("halo", "BPJS Ketenagakerjaan"), (longest, "tanpa batas")):
        mark = len(tg.fake.messages_to(chat))
        bubbles = await tg.send_text("one", text)
        assert len(bubbles) == 1 and words in plain(bubbles[0].text) and bubbles[0].buttons, (text, bubbles)
        assert "\n\n" in bubbles[0].text  # the template's paragraphs, kept apart by a blank line
        sent = tg.fake.messages_to(chat)[mark:]
        assert len(sent) == 1 and sent[0].markup and sent[0].markup["inline_keyboard"]


async def test_staff_commands(tg: TelegramDriver) -> None:
    await contract.scenario_lead_form(tg, user="worker")  # a lead in Kota Serang (3673)
    async with tg.runtime.db.session() as session:
        await repo.add_staff(session, name="Koor Kota", role="coordinator", identities={"telegram": str(tg.uid("koor"))},
                             areas=["3673"])  # fmt: skip
        await repo.add_staff(session, name="Koor Kab", role="coordinator", identities={"telegram": str(tg.uid("kab"))},
                             areas=["3604"])  # fmt: skip
        await repo.add_staff(session, name="Petugas", role="staff", identities={"telegram": str(tg.uid("petugas"))})
        other = _lead_in("3604", "360401", tg.runtime.cipher)
        session.add(other)
        await session.flush()
        other_id = other.id
        mine = (await session.scalars(select(Lead).where(Lead.kabkota_code == "3673"))).one()
        mine_id = mine.id

    listing = await tg.send_text("koor", "/leads")
    text = plain(joined(listing))
    assert "Siti Aminah" in text and f"#{other_id}" not in text and "Nur Kab" not in text
    assert "Dihubungi" in listing[-1].buttons
    assert "sudah dihubungi" in plain(joined(await tg.press("koor", "Dihubungi")))
    assert "tidak ada di wilayahmu" in plain(joined(await tg.send_text("koor", f"/lead {other_id}")))
    detail = plain(joined(await tg.send_text("koor", f"/lead {mine_id}")))
    assert "sudah dihubungi" in detail and "Koor Kota" in detail and "3673**********01" in detail
    assert "Belum ada lead baru" in plain(joined(await tg.send_text("koor", "/leads")))

    other_view = plain(joined(await tg.send_text("kab", "/leads")))
    assert "Nur Kab" in other_view and "Siti Aminah" not in other_view

    stats = plain(joined(await tg.send_text("petugas", "/stats")))
    assert "Statistik" in stats and "sudah dihubungi: 1" in stats
    # Staff who are not coordinators, and workers, get the ordinary menu.
    assert "Silakan pilih topik" in plain(joined(await tg.send_text("petugas", "/leads")))
    assert "Silakan pilih topik" in plain(joined(await tg.send_text("worker", "/leads")))
    assert "Silakan pilih topik" in plain(joined(await tg.send_text("worker", "/stats")))
    async with tg.runtime.db.session() as session:
        events = (await session.scalars(select(LeadEvent))).all()
        assert [(e.lead_id, e.status) for e in events] == [(mine_id, "contacted")]


def _lead_in(kabkota: str, kecamatan: str, cipher: FieldCipher) -> Lead:
    nik = "3604014107850002"
    return Lead(
        full_name="Nur Kab", nik_encrypted=cipher.encrypt(nik), nik_hash=cipher.keyed_hash(nik),
        nik_masked="3604**********02", birth_date=date(1985, 7, 1), phone_e164="+6281300000000",
        kabkota_code=kabkota, kecamatan_code=kecamatan, occupation="petani", declared_income=1_000_000,
        programmes=2, continue_via="visit", status="new", timezone="Asia/Jakarta", channel="telegram",
    )  # fmt: skip


async def test_webhook_secret_checked(sqlite_url: str, matcher: Any, clock: Any) -> None:
    async with running("aiogram", "webhook", sqlite_url, matcher, clock, secret="s3cret-Token_1") as tg:
        update = tg.message("ws", text="halo")
        async with httpx.AsyncClient() as client:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                response = await client.post(tg.http_root + "/webhook/telegram", json=update, headers=headers)
                assert response.status_code == 403
        await tg.channel.drain()
        assert tg.channel.stats.processed == 0 and tg.fake.sent == []
        async with tg.runtime.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(InboundUpdate)) == 0
        # The right secret: 200 at once, the work done in the background, each update id once.
        statuses = await asyncio.gather(*(tg.fake.post_webhook(update) for _ in range(3)))
        assert statuses == [200, 200, 200]
        await tg.channel.drain()
        assert len(tg.fake.messages_to(tg.uid("ws"))) == len(tg.fake.sent) > 0
        first = len(tg.fake.sent)
        assert await tg.fake.post_webhook(update) == 200
        await tg.channel.drain()
        assert len(tg.fake.sent) == first


# -- PostgreSQL: a part of the contract, each backend once -------------------------------------


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Any:
    from tests.conftest import _pg_url

    copies = request.getfixturevalue("pg_copies")
    name = copies.take()
    yield _pg_url(name)
    copies.drop(name)


@pytest.mark.postgres
@pytest.mark.parametrize(("backend", "mode"), [("ptb", "webhook"), ("aiogram", "polling")], ids=["ptb", "aiogram"])
async def test_contract_postgres(backend: str, mode: str, pg_url: str, matcher: Any, clock: Any) -> None:
    async with running(backend, mode, pg_url, matcher, clock, secret="pg-secret") as tg:
        await contract.scenario_lead_form(tg)
        await contract.scenario_stale_button(tg)
        await contract.scenario_replay(tg)
        await contract.scenario_media(tg)
