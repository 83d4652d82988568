"""The handover round trip as people live it, through `bpu-bot run`'s app (channels, scheduler,
delivery worker, one running clock) on the loopback Bot API and signed WhatsApp webhooks:
the worker asks for a person in the chat, the coordinator of their area gets the alert in their
own chat, answers with /balas, the worker gets it from the bot, answers, the answer reaches the
coordinator, who closes the request with /selesai and a note."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from storage import repositories as repo
from storage.dashboard_models import CallbackRequest, HandoverMessage
from tests.delivery.test_reminder_journey import Journey, running
from tests.waiting import eventually

QUESTION = "kartu peserta ayah saya hilang waktu banjir"
COORDINATOR = {"telegram": {"telegram": "700100"}, "whatsapp": {"whatsapp": "+6281299990000"}}


def _person(j: Journey, chat: int, wa_id: str) -> Journey:
    """Another person in the same running app (the coordinator)."""
    other = Journey(j.channel, j.clock, j.runtime, j.base, j.fake_tg, j.graph)
    other.chat, other.wa_id = chat, wa_id
    other._ids = j._ids  # one sequence of platform message ids for everyone
    return other


async def _request(j: Journey) -> CallbackRequest:
    async with j.runtime.db.session() as session:
        found = await session.scalar(select(CallbackRequest))
        assert found is not None
        return found


@pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
async def test_handover_round_trip_through_the_running_bot(channel: str, db_url: str, matcher: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    async with running(channel, db_url, matcher, monkeypatch) as worker:
        async with worker.runtime.db.session() as session:
            await repo.add_staff(session, name="Koor Kota", role="coordinator", areas=["3673"],
                                 identities=COORDINATOR[channel])  # fmt: skip
        coordinator = _person(worker, 700100, "6281299990000")
        assert "Tidak ada permintaan terbuka" in await coordinator.say("/balas")  # the morning's look

        await worker.say("halo")
        await worker.say(QUESTION)
        said = await worker.say("saya mau bicara ke petugas")
        if channel == "telegram":  # no number known on Telegram: asked for one
            said = await worker.say("0812 3456 7890")
        assert "kecamatan" in said.lower()
        assert "sudah dicatat" in await worker.say("Cipocok Jaya")
        request = await _request(worker)

        alerts = await eventually(lambda: [m for m in coordinator.received() if QUESTION in m])
        assert f"#{request.id}" in alerts[0] and "Cipocok Jaya" in alerts[0] and "Balas" in alerts[0]
        assert ("+6281234567890" if channel == "telegram" else "+6281200770001") in alerts[0]

        assert "dikirim" in await coordinator.say(f"/balas {request.id} Besok jam 9 saya telepon ya, Bu.")
        await eventually(lambda: any("Besok jam 9 saya telepon" in m for m in worker.received()))

        assert "diteruskan" in await worker.say("Baik pak, saya tunggu")
        await eventually(lambda: any("Baik pak, saya tunggu" in m for m in coordinator.received()))

        assert "selesai" in await coordinator.say(f"/selesai {request.id} Sudah ditelepon, datang Senin.")
        await eventually(lambda: any("menutup permintaanmu" in m for m in worker.received()))
        async with worker.runtime.db.session() as session:
            done = await session.get(CallbackRequest, request.id)
            entries = (await session.scalars(select(HandoverMessage).order_by(HandoverMessage.id))).all()
        assert done is not None and done.status == "done"
        assert [(e.author, e.text) for e in entries] == [
            ("staff", "Besok jam 9 saya telepon ya, Bu."),
            ("worker", "Baik pak, saya tunggu"),
            ("note", "Sudah ditelepon, datang Senin."),
        ]
