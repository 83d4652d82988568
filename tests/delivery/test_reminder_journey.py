"""A payment reminder from the chat to the platform, as a worker lives it, on each channel.

`bpu-bot run` in miniature (the HTTP app with its lifespan: channels, scheduler, delivery
worker), one settable clock for all of it, and the loopback Bot API / Graph API servers:
the worker asks for a reminder in the chat, the clock reaches the due moment, the reminder
arrives, a broadcast due at the same moment arrives once beside it, "sudah bayar" stops the
next reminder of that month, and the month after comes as usual.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.delivery.service import Campaigns
from bot.http import create_app
from bot.runtime import Runtime, build_channels
from bot.settings import Settings
from handlers import broadcasts
from storage.campaign_models import OutboxRow, Reminder
from storage.crypto import FieldCipher
from storage.db import Database
from tests.channels.fake_graph import FakeGraph
from tests.channels.fake_telegram import FakeTelegram
from tests.conftest import TEST_SECRET, RunningClock, registry_engine
from tests.net import serving
from tests.waiting import eventually

APP_SECRET = "journey-app-secret"
SAMPLE = Path(__file__).parents[1] / "channels" / "data" / "whatsapp" / "text.json"
# Pays on the 5th; reminders 3 days before and on the day, at 09:00 WIB (02:00 UTC).
ASKED = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
DEC_BEFORE = datetime(2026, 12, 2, 2, 1, tzinfo=UTC)
DEC_DUE = datetime(2026, 12, 5, 2, 1, tzinfo=UTC)
JAN_BEFORE = datetime(2027, 1, 2, 2, 1, tzinfo=UTC)
ANNOUNCEMENT = "Sosialisasi BPU hari Sabtu di kantor desa."


class Journey:
    """One worker on one channel: what they type, and what reached the platform for them."""

    def __init__(self, channel: str, clock: RunningClock, runtime: Runtime, base: str,
                 fake_tg: FakeTelegram | None, graph: FakeGraph | None) -> None:  # fmt: skip
        self.channel, self.clock, self.runtime, self.base = channel, clock, runtime, base
        self.fake_tg, self.graph = fake_tg, graph
        self.chat = 777_001
        self.wa_id = "6281200770001"
        self._ids = itertools.count(1)

    def received(self) -> list[str]:
        """Everything that reached this worker, one string per platform message."""
        if self.fake_tg is not None:
            return [m.text for m in self.fake_tg.messages_to(self.chat)]
        assert self.graph is not None
        return [json.dumps(body, ensure_ascii=False) for body in self.graph.messages_to(self.wa_id)]

    async def say(self, text: str) -> str:
        """The whole answer, its bubbles joined."""
        before = len(self.received())
        channel: Any = self.runtime.channels[0]
        if self.fake_tg is not None:
            processed = channel.stats.processed
            await self.fake_tg.inject({
                "update_id": self.fake_tg.next_update_id(),
                "message": {"message_id": next(self._ids), "date": int(self.clock().timestamp()), "text": text,
                            "chat": {"id": self.chat, "type": "private", "first_name": "Ani"},
                            "from": {"id": self.chat, "is_bot": False, "first_name": "Ani"}},
            })  # fmt: skip
            await channel.wait_processed(processed + 1)
        else:
            await post_whatsapp(self.base, self.wa_id, text, f"wamid.JOURNEY{next(self._ids):06d}", self.clock())
            await channel.drain()
        return "\n".join(self.received()[before:])

    async def reminder_row(self) -> Reminder:
        async with self.runtime.db.session() as session:
            reminder = await session.scalar(select(Reminder))
            assert reminder is not None
            return reminder

    async def next_due_is(self, due: str) -> bool:
        return (await self.reminder_row()).next_due == due

    async def settled(self) -> None:
        """The scheduler has looked at the clock's moment and the worker has nothing left to do."""
        worker = self.runtime.campaigns.worker  # type: ignore[union-attr]
        mark = self.clock()
        await eventually(lambda: all(t >= mark for t in self.runtime.campaigns.scheduler.last_tick.values())  # type: ignore[union-attr]
                         and len(self.runtime.campaigns.scheduler.last_tick) >= 2)  # type: ignore[union-attr]  # fmt: skip
        await worker.run_until_idle(timeout=20)


async def post_whatsapp(base: str, wa_id: str, text: str, wamid: str, now: datetime) -> None:
    """A signed text notification, as Meta posts it, to the bot's webhook."""
    body = json.loads(SAMPLE.read_text())
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    value["messages"][0].update(
        {"from": wa_id, "id": wamid, "timestamp": str(int(now.timestamp())), "text": {"body": text}}
    )
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{base}/webhook/whatsapp", content=raw,
                                     headers={"content-type": "application/json", "x-hub-signature-256": signature})  # fmt: skip
    assert response.status_code == 200, response.text


@contextlib.asynccontextmanager
async def running(channel: str, db_url: str, matcher: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Journey]:
    clock = RunningClock(ASKED)
    fake_tg = graph = None
    env: dict[str, Any] = {"BPU_DATABASE_URL": db_url, "BPU_REMINDER_TICK_SECONDS": 0.2,
                           "BPU_BROADCAST_TICK_SECONDS": 0.2, "BROADCAST_HEADROOM": 0.0,
                           "WHATSAPP_SECONDS_PER_CHAT": 0.5}  # the reminder and the broadcast, one user  # fmt: skip
    if channel == "telegram":
        fake_tg = await FakeTelegram().start()
        env.update(TELEGRAM_BOT_TOKEN=fake_tg.token, TELEGRAM_API_BASE_URL=fake_tg.root)
    else:
        graph = FakeGraph()
        graph.start_in_thread()
        env.update(WHATSAPP_ACCESS_TOKEN="token", WHATSAPP_PHONE_NUMBER_ID="109876543210",
                   WHATSAPP_APP_SECRET=APP_SECRET, WHATSAPP_VERIFY_TOKEN="verify", WHATSAPP_API_BASE_URL=graph.base_url)  # fmt: skip
        # Outside the 24-hour window a reminder or an announcement needs its approved template.
        monkeypatch.setenv("WHATSAPP_TEMPLATE_REMINDER", "iuran_reminder_v1:id")
        monkeypatch.setenv("WHATSAPP_TEMPLATE_BROADCAST", "pengumuman_v1:id")
    settings = Settings(_env_file=None, **env)  # type: ignore[call-arg]
    db = Database(db_url)
    cipher = FieldCipher(TEST_SECRET)
    engine = registry_engine(db, cipher, matcher, clock)
    runtime = Runtime(settings, db, cipher, engine)
    runtime.channels = build_channels(runtime)
    runtime.campaigns = Campaigns.from_deps(runtime.deps, settings=settings)
    try:
        async with serving(create_app(runtime)) as base:
            yield Journey(channel, clock, runtime, base, fake_tg, graph)
    finally:
        await db.dispose()
        if fake_tg is not None:
            await fake_tg.stop()
        if graph is not None:
            graph.stop()


async def _announce(db: Database, channel: str, at: datetime) -> int:
    async with db.session() as session:
        b = await broadcasts.create(session, created_by="staf", segment={}, channels=[channel], template=None,
                                    text=ANNOUNCEMENT, now=ASKED, at=at)  # fmt: skip
        return b.id


@pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
async def test_reminder_from_the_chat_to_the_platform(channel: str, db_url: str, matcher: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    async with running(channel, db_url, matcher, monkeypatch) as j:
        replies = await j.say("ingatkan saya")
        assert "Tanggal berapa" in replies
        replies = await j.say("5")
        assert "5 Desember 2026" in replies
        reminder = await j.reminder_row()
        assert reminder.next_fire_at is not None
        assert reminder.next_fire_at.replace(tzinfo=UTC) == DEC_BEFORE - timedelta(minutes=1)
        await _announce(j.runtime.db, channel, DEC_BEFORE - timedelta(minutes=1))
        seen = len(j.received())

        # 2 December, 09:01 WIB: the reminder and the announcement, once each.
        j.clock.now = DEC_BEFORE
        await eventually(lambda: len(j.received()) >= seen + 2)
        await j.settled()
        new = j.received()[seen:]
        reminders = [m for m in new if "5 Desember 2026" in m or "iuran_reminder_v1" in m]
        announcements = [m for m in new if ANNOUNCEMENT in m or "pengumuman_v1" in m]
        assert (len(reminders), len(announcements), len(new)) == (1, 1, 2), new
        if channel == "whatsapp":  # a week after the last message: the approved templates, with their values
            assert "5 Desember 2026" in reminders[0]
        else:
            assert "Sudah bayar" in str(j.fake_tg.messages_to(j.chat)[-2:])  # type: ignore[union-attr]

        # "sudah bayar" on 2 December: December is paid, the due-day reminder of the 5th does not come.
        replies = await j.say("sudah bayar")
        assert "Desember 2026" in replies
        seen = len(j.received())
        j.clock.now = DEC_DUE
        await eventually(lambda: j.next_due_is("2027-01-05"))  # the due-day fire was looked at
        await j.settled()
        assert j.received()[seen:] == []

        # January comes as usual: its "3 days before" reminder on 2 January.
        j.clock.now = JAN_BEFORE
        await eventually(lambda: len(j.received()) > seen)
        await j.settled()
        new = j.received()[seen:]
        assert len(new) == 1 and ("5 Januari 2027" in new[0]), new
        async with j.runtime.db.session() as session:
            states = [(r.source_key.split(":", 1)[-1], r.state) for r in
                      (await session.scalars(select(OutboxRow).where(OutboxRow.reminder_id.is_not(None)).order_by(OutboxRow.id))).all()]  # fmt: skip
        assert states == [("2026-12:before", "sent"), ("2027-01:before", "sent")], states


# -- two `bpu-bot run` processes on one PostgreSQL ------------------------------------------------

WORKERS = 200


async def _seed_due_reminders(db_url: str, n: int) -> list[str]:
    """`n` WhatsApp workers whose "3 days before" reminder is due now (the real clock: the
    processes run on it), besides the one who asked in the chat; returns their numbers."""
    from storage.models import Contact

    db = Database(db_url)
    now = datetime.now(UTC)
    due = (now + timedelta(days=3, hours=7)).date().isoformat()  # in 3 days, in WIB too
    numbers = [f"62813{i:08d}" for i in range(n)]
    try:
        async with db.session() as session:
            for number in numbers:
                contact = Contact(channel="whatsapp", external_id=number, language="id", timezone="Asia/Jakarta")
                session.add(contact)
                await session.flush()
                session.add(Reminder(contact_id=contact.id, day_of_month=int(due[-2:]), next_fire_at=now,
                                     next_stage="before", next_due=due))  # fmt: skip
            # The worker who asked in the chat: their reminder comes due now too.
            await session.execute(
                Reminder.__table__.update().where(Reminder.next_fire_at > now)
                .values(next_fire_at=now - timedelta(minutes=1), next_stage="before", next_due=due)
            )  # fmt: skip
    finally:
        await db.dispose()
    return numbers


@pytest.mark.postgres
async def test_two_processes_on_postgres_send_each_reminder_once(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgres"):
        pytest.skip("several `bpu-bot run` processes share one database on PostgreSQL only")
    from tests.processes import start, stop, wait_healthy

    graph = FakeGraph()
    graph.start_in_thread()
    env = dict(
        BPU_DATABASE_URL=db_url, BPU_QUIET_HOURS="0-0", BPU_REMINDER_TICK_SECONDS="0.5",
        WHATSAPP_ACCESS_TOKEN="token", WHATSAPP_PHONE_NUMBER_ID="109876543210", WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN="verify", WHATSAPP_API_BASE_URL=graph.base_url,
        WHATSAPP_TEMPLATE_REMINDER="iuran_reminder_v1:id", WHATSAPP_DAILY_LIMIT="0",
    )  # fmt: skip
    procs = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            procs.append(start(tmp_path / name, **env))
        for proc, base in procs:
            await wait_healthy(base, proc)
        asker = "6281200770002"
        for i, (text, expected) in enumerate((("ingatkan saya", "Tanggal berapa"), ("5", "tanggal 5"))):
            seen = len(graph.messages_to(asker))
            await post_whatsapp(procs[i][1], asker, text, f"wamid.TWO{i}", datetime.now(UTC))  # either process
            await eventually(lambda: expected in json.dumps(graph.messages_to(asker)[seen:], ensure_ascii=False))  # noqa: B023
        numbers = [asker, *await _seed_due_reminders(db_url, WORKERS)]

        def reminders_to(number: str) -> list[dict[str, Any]]:
            # The asker wrote today: inside the 24-hour window the text itself; the others the template.
            return [
                b for b in graph.messages_to(number) if b.get("type") == "template" or "Pengingat:" in json.dumps(b)
            ]

        await eventually(lambda: all(reminders_to(n) for n in numbers), seconds=60,
                         what=lambda: f"{sum(1 for n in numbers if reminders_to(n))} of {len(numbers)} reminded")  # fmt: skip
        await asyncio.sleep(2.0)  # several more ticks of both schedulers and both workers
        async with httpx.AsyncClient() as client:
            states = sorted([(await client.get(f"{base}/healthz")).json()["scheduler"] for _, base in procs],
                            key=str)  # fmt: skip
    finally:
        outs = [await stop(proc) for proc, _ in procs]
        graph.stop()
    counts = collections.Counter(len(reminders_to(n)) for n in numbers)
    assert counts == {1: WORKERS + 1}, counts
    assert [s if isinstance(s, str) else s.get("state") for s in states] in (
        ["leader", "standby"],
        ["standby", "leader"],
    ), states
    assert all("bpu-bot is running" in out for out in outs)
