"""Two-way handover (issue 16, item 1) through the engine and the delivery worker, on the fake
Bot API and the fake Graph API: the worker asks for a person, the coordinator of their area is
alerted at once with the question, the phone and buttons; `/balas` reaches the worker on their
channel; the worker's answer comes back to the coordinator; `/selesai` closes it with a note."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.delivery import decide
from content import regions
from storage import repositories as repo
from storage.campaign_models import OutboxRow
from storage.dashboard_models import CallbackRequest, HandoverMessage
from tests.channels.fake_graph import FakeGraph
from tests.delivery.helpers import run_worker
from tests.factories import Chat

CIPOCOK = next(r for kk in regions.kabkota_list() for r in regions.kecamatan_of(kk.code) if r.name == "Cipocok Jaya")
QUESTION = "kartu peserta ayah saya hilang waktu banjir"
PHONE_ID = "109876543210"
# The worker and the coordinator, per channel: (worker's user id, coordinator's user id, staff fields).
PEOPLE = {
    "telegram": ("555001", "700100", {"telegram": "700100"}),
    "whatsapp": ("6281311112222", "6281299990000", {"whatsapp": "+6281299990000"}),
}


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    fake.start_in_thread()
    yield fake
    fake.stop()


def _running(clock: Any) -> Any:
    """The engine's moment, running on: the delivery worker's clock."""
    start, base = time.monotonic(), clock.now
    return lambda: base + timedelta(seconds=time.monotonic() - start)


def _lane(channel: str, request: Any, db: Any, engine: Any, cipher: Any, clock: Any,
          templates: dict[str, str] | None = None) -> tuple[Any, Any]:  # fmt: skip
    """The fake of `channel`, and a function that sends what is due through it (a new delivery
    worker each time: a stopped worker has closed its connections)."""
    from bot.delivery.settings import DeliverySettings
    from bot.delivery.worker import DeliveryWorker

    if channel == "telegram":
        from tests.delivery.conftest import make_worker

        fake = request.getfixturevalue("threaded_tg")  # a sync fixture: asked for inside the test

        async def drain_telegram() -> None:
            await run_worker(make_worker(db, fake, rate=None, clock=_running(clock)))

        return fake, drain_telegram
    from bot.channels.whatsapp.bulk import WhatsAppSender
    from bot.channels.whatsapp.channel import WhatsAppChannel
    from bot.channels.whatsapp.graph import GraphClient
    from bot.settings import TemplateConfig

    graph = request.getfixturevalue("graph")

    async def drain_whatsapp() -> None:
        running = _running(clock)
        wa = WhatsAppChannel(
            engine=engine, db=db, cipher=cipher, app_secret="app-secret", verify_token="verify",
            graph=GraphClient(graph.base_url, PHONE_ID, "test-access-token", retry_delays=()),
            templates={k: TemplateConfig.parse(v) for k, v in (templates or {}).items()}, clock=running,
        )  # fmt: skip
        settings = DeliverySettings(BROADCAST_HEADROOM=0.0, BPU_DELIVERY_RETRY_BASE=0.05, WHATSAPP_RATE_PER_SECOND=0)  # type: ignore[call-arg]
        await run_worker(DeliveryWorker(db, {"whatsapp": WhatsAppSender(wa, throughput_pause=0.3)}, settings=settings,
                                        clock=running, quiet=(0, 0), poll=0.05))  # fmt: skip

    return graph, drain_whatsapp


def _received(channel: str, fake: Any, user: str) -> list[tuple[str, list[str]]]:
    """(text, button labels) of each message the fake delivered to `user`."""
    if channel == "telegram":
        out = []
        for sent in fake.messages_to(int(user)):
            rows = (sent.markup or {}).get("inline_keyboard") or []
            out.append((sent.text, [b["text"] for row in rows for b in row]))
        return out
    out = []
    for body in fake.messages_to(user):
        if body.get("type") == "interactive":
            inter = body["interactive"]
            labels = [b["reply"]["title"] for b in inter.get("action", {}).get("buttons", [])]
            out.append((inter["body"]["text"], labels))
        elif body.get("type") == "template":
            params = body["template"].get("components", [{}])[0].get("parameters", [])
            out.append((f"[template {body['template']['name']}] " + " | ".join(p["text"] for p in params), []))
        else:
            out.append((body["text"]["body"], []))
    return out


async def _staff(db: Any, name: str, role: str, areas: tuple[str, ...] = (), **chat: str) -> int:
    async with db.session() as session:
        return (await repo.add_staff(session, name=name, role=role, areas=list(areas), identities=chat)).id


async def _request(db: Any) -> CallbackRequest:
    async with db.session() as session:
        (row,) = (await session.scalars(select(CallbackRequest))).all()
        return row


async def _history(db: Any) -> list[tuple[str, str]]:
    async with db.session() as session:
        entries = (await session.scalars(select(HandoverMessage).order_by(HandoverMessage.id))).all()
        return [(e.author, e.text) for e in entries]


async def _ask_for_a_person(chat: Chat, channel: str, *, area: str = "Cipocok Jaya") -> None:
    await chat.say("halo")
    await chat.say(QUESTION)
    await chat.press_payload("t:human", "Bicara ke petugas")
    if channel == "telegram":  # no number known on Telegram: asked for one
        await chat.say("0812 3456 7890")
    assert "kecamatan" in chat.text.lower()
    await chat.say(area)
    assert "sudah dicatat" in chat.text


@pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
async def test_round_trip(channel: str, request: Any, db: Any, engine: Any, cipher: Any, clock: Any) -> None:
    worker_id, coordinator_id, chat_fields = PEOPLE[channel]
    await _staff(db, "Koor Kota", "coordinator", ("3673",), **chat_fields)
    await _staff(db, "Koor Lebak", "coordinator", ("3602",), telegram="700200")  # another area
    await _staff(db, "Staf Kantor", "staff", telegram="700300")  # the area has its coordinator
    fake, drain = _lane(channel, request, db, engine, cipher, clock)
    worker = Chat(engine, user=worker_id, channel=channel)
    coordinator = Chat(engine, user=coordinator_id, channel=channel)
    await coordinator.say("/balas")  # the morning's check (on WhatsApp it opens the 24-hour window too)
    assert "Tidak ada permintaan terbuka" in coordinator.text

    await _ask_for_a_person(worker, channel)
    req = await _request(db)
    phone = "+6281234567890" if channel == "telegram" else "+6281311112222"
    assert req.phone_e164 == phone and req.alerted_at is not None
    await drain()
    ((alert, labels),) = _received(channel, fake, coordinator_id)
    assert f"#{req.id}" in alert and QUESTION in alert and phone in alert and "Cipocok Jaya" in alert
    assert labels == ["Balas", "Tandai selesai"]
    if channel == "telegram":  # nobody else was told
        assert fake.messages_to(700200) == [] and fake.messages_to(700300) == []

    await coordinator.say(f"/balas {req.id} Besok jam 9 saya telepon ya, Bu.\nSiapkan KTP ayah.")
    assert f"#{req.id}" in coordinator.text and "dikirim" in coordinator.text
    await drain()
    ((reply, _),) = _received(channel, fake, worker_id)
    assert "Besok jam 9 saya telepon ya, Bu." in reply and "Siapkan KTP ayah." in reply and "Koor" in reply

    await worker.say("Baik pak, saya tunggu. Nomor saya 0812 3456 7890")
    assert "diteruskan" in worker.text  # to the person, not answered by the bot
    await drain()
    _, (answer, answer_labels) = _received(channel, fake, coordinator_id)
    assert "Baik pak, saya tunggu" in answer and f"#{req.id}" in answer and "Balas" in answer_labels

    await coordinator.say(f"/selesai {req.id} Sudah ditelepon; datang ke kantor Senin.")
    assert "selesai" in coordinator.text
    done = await _request(db)
    assert done.status == "done" and done.done_at is not None and done.done_by_staff_id is not None
    history = await _history(db)
    assert [author for author, _ in history] == ["staff", "worker", "note"]
    assert history[0][1].startswith("Besok jam 9") and "0812******90" in history[1][1]  # masked, as in the log
    assert history[2][1] == "Sudah ditelepon; datang ke kantor Senin."

    # Closed: the worker is told (never the note), their next words are the bot's again, and
    # nothing more goes to the coordinator.
    await worker.say("berapa iuran bpu?")
    assert "diteruskan" not in worker.text
    await drain()
    assert len(_received(channel, fake, coordinator_id)) == 2
    _, (closed, _) = _received(channel, fake, worker_id)
    assert "menutup permintaanmu" in closed and "Senin" not in closed


async def test_the_alert_buttons_ask_for_the_reply_and_the_note(request: Any, db: Any, engine: Any, cipher: Any,
                                                                clock: Any) -> None:  # fmt: skip
    await _staff(db, "Koor Kota", "coordinator", ("3673",), telegram="700100")
    fake, drain = _lane("telegram", request, db, engine, cipher, clock)
    worker = Chat(engine, user="555001", channel="telegram")
    coordinator = Chat(engine, user="700100", channel="telegram")
    await _ask_for_a_person(worker, "telegram")
    req = await _request(db)

    await coordinator.press_payload(f"s:ho:reply:{req.id}", "Balas")
    assert f"#{req.id}" in coordinator.text
    await coordinator.say("Ibu bisa datang ke kantor cabang besok?")
    assert "dikirim" in coordinator.text
    await drain()
    assert any("datang ke kantor cabang" in text for text, _ in _received("telegram", fake, "555001"))

    await coordinator.press_payload(f"s:ho:done:{req.id}", "Tandai selesai")
    await coordinator.say("batal")
    assert (await _request(db)).status == "open"
    await coordinator.press_payload(f"s:ho:done:{req.id}", "Tandai selesai")
    await coordinator.say("Datang besok, dibantu daftar ulang kartu.")
    assert (await _request(db)).status == "done"
    await coordinator.press_payload(f"s:ho:done:{req.id}", "Tandai selesai")  # pressed again
    assert "sudah selesai" in coordinator.text
    await coordinator.say("/balas")  # the list of open requests: none left
    assert "Tidak ada permintaan terbuka" in coordinator.text


async def test_no_area_goes_to_the_office_and_other_areas_cannot_answer(request: Any, db: Any, engine: Any,
                                                                       cipher: Any, clock: Any) -> None:  # fmt: skip
    await _staff(db, "Koor Kota", "coordinator", ("3673",), telegram="700100")
    await _staff(db, "Staf Kantor", "staff", telegram="700300")
    await _staff(db, "Tanpa Chat", "admin")  # no chat: cannot be alerted
    fake, drain = _lane("telegram", request, db, engine, cipher, clock)
    worker = Chat(engine, user="555001", channel="telegram")
    await worker.say("halo")
    await worker.say(QUESTION)
    await worker.press_payload("t:human", "Bicara ke petugas")
    await worker.say("lewati")  # no phone
    await worker.say("lewati")  # no kecamatan
    req = await _request(db)
    assert req.kecamatan_code is None and req.phone_e164 is None
    await drain()
    assert fake.messages_to(700100) == []
    ((office, _),) = _received("telegram", fake, "700300")
    assert "belum diketahui" in office and "tidak diberikan" in office

    coordinator = Chat(engine, user="700100", channel="telegram")
    await coordinator.say(f"/balas {req.id} Halo")
    assert "tidak ada di wilayahmu" in coordinator.text
    await coordinator.press_payload(f"s:ho:reply:{req.id}", "Balas")
    assert "tidak berlaku" in coordinator.text.lower() or "menu" in coordinator.text.lower()
    outsider = Chat(engine, user="555999", channel="telegram")  # a worker typing the command
    await outsider.say(f"/balas {req.id} Halo")
    async with db.session() as session:
        assert (await session.scalars(select(HandoverMessage))).all() == []
        assert (await session.scalars(select(OutboxRow).where(OutboxRow.kind == "handover_reply"))).all() == []


async def test_whatsapp_outside_the_window_uses_the_template(request: Any, db: Any, engine: Any, cipher: Any,
                                                             clock: Any) -> None:  # fmt: skip
    await _staff(db, "Koor Kota", "coordinator", ("3673",), whatsapp="+6281299990000")
    templates = {"handover_reply": "balasan_petugas_v1:id", "handover_alert": "permintaan_petugas_v1:id"}
    graph, drain = _lane("whatsapp", request, db, engine, cipher, clock, templates=templates)
    worker = Chat(engine, user="6281311112222", channel="whatsapp")
    await _ask_for_a_person(worker, "whatsapp")
    req = await _request(db)
    await drain()  # the coordinator has not written to the bot: the alert goes as its template
    ((alert, _),) = _received("whatsapp", graph, "6281299990000")
    assert alert == f"[template permintaan_petugas_v1] {req.id} | {QUESTION}"
    clock.now += timedelta(hours=30)  # the worker's 24-hour window has closed
    await Chat(engine, user="6281299990000", channel="whatsapp").say(f"/balas {req.id} Maaf baru sempat membalas.")
    await drain()
    ((sent, _),) = _received("whatsapp", graph, "6281311112222")
    assert sent == "[template balasan_petugas_v1] Koor | Maaf baru sempat membalas."


def test_quiet_hours_hold_a_reply_unless_the_worker_just_wrote() -> None:
    from bot.delivery import handover

    zone = ZoneInfo("Asia/Jakarta")
    night = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)  # 22:30 WIB

    def facts(kind: str, last_inbound: datetime | None, opted_out: bool = False) -> decide.Facts:
        return decide.Facts(kind=kind, broadcast_status=None, quiet_policy=None, reminder_active=None,
                            paid_for_due_month=False, opted_out=opted_out, unreachable=False, zone=zone,
                            asked_for=kind == "handover_reply",
                            in_conversation=handover.in_conversation(kind, last_inbound, night))  # fmt: skip

    assert decide.hold(facts("handover_reply", night - timedelta(minutes=10)), night, (21, 7)) is None
    held = decide.hold(facts("handover_reply", night - timedelta(hours=5)), night, (21, 7))
    assert held is not None and held.reason == "quiet_hours"
    alert = decide.hold(facts("handover_alert", night - timedelta(minutes=1)), night, (21, 7))
    assert alert is not None and alert.reason == "quiet_hours"  # staff hear of it at 07:00
    # "stop" ends broadcasts and reminders, not the answer to the worker's own question.
    assert decide.hold(facts("handover_reply", night - timedelta(minutes=10), opted_out=True), night, (21, 7)) is None
    assert decide.hold(facts("handover_alert", None, opted_out=True), night, (0, 0)) is not None


async def test_a_worker_who_deletes_their_data_leaves_nothing_to_send(request: Any, db: Any, engine: Any,
                                                                     cipher: Any, clock: Any) -> None:  # fmt: skip
    """The outbox row holds ids only: with the worker's data gone, the alert is skipped, not sent."""
    from storage.models import Contact

    await _staff(db, "Koor Kota", "coordinator", ("3673",), telegram="700100")
    fake, drain = _lane("telegram", request, db, engine, cipher, clock)
    await _ask_for_a_person(Chat(engine, user="555001", channel="telegram"), "telegram")
    async with db.session() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.kind == "handover_alert"))
        assert row is not None and QUESTION not in repr(row.payload) and "0812" not in repr(row.payload)
        worker = await session.scalar(select(Contact).where(Contact.external_id == "555001"))
        await session.delete(worker)
    await drain()
    assert fake.messages_to(700100) == []
    async with db.session() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.kind == "handover_alert"))
        assert row is not None and (row.state, row.reason) == ("skipped", "cancelled")


async def test_a_reply_to_the_web_simulator_stays_in_the_history(db: Any, engine: Any) -> None:
    """No chat to reach later: the reply is kept, nothing is queued, and the bot keeps answering."""
    await _staff(db, "Staf Kantor", "staff", telegram="700300")
    worker = Chat(engine, user="web-1", channel="web")
    await worker.say("halo")
    await worker.say(QUESTION)
    await worker.press_payload("t:human", "Bicara ke petugas")
    await worker.say("lewati")
    await worker.say("lewati")
    req = await _request(db)
    await Chat(engine, user="700300", channel="telegram").say(f"/balas {req.id} Silakan datang ke kantor.")
    await worker.say("berapa iuran bpu?")
    assert "diteruskan" not in worker.text
    assert await _history(db) == [("staff", "Silakan datang ke kantor.")]
    async with db.session() as session:
        assert (await session.scalars(select(OutboxRow).where(OutboxRow.kind == "handover_reply"))).all() == []
