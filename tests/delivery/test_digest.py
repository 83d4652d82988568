"""The coordinators' daily digest: one outbox row per coordinator per local day, counts only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.delivery import digest
from content.render import Renderer
from storage import repositories as repo
from storage.campaign_models import OutboxRow
from storage.dashboard_models import CallbackRequest
from storage.models import Contact, Staff
from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead
from tests.delivery.helpers import run_worker

NOW = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # 07:30 WIB
OLD = NOW - timedelta(days=3)


async def _staff(db, name: str, areas: tuple[str, ...], role: str = "coordinator", **chat: str) -> int:  # type: ignore[no-untyped-def]
    """A staff member; `chat`: channel -> their identity on it (telegram="700100")."""
    async with db.session() as session:
        return (await repo.add_staff(session, name=name, role=role, areas=areas, identities=chat)).id


async def _callback(db, kecamatan: str, status: str = "open") -> None:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        contact, _ = await repo.get_or_create_contact(session, "whatsapp", f"62812{kecamatan}")
        session.add(CallbackRequest(contact_id=contact.id, question="Tolong telepon, NIK saya 3673015501900001",
                                    kecamatan_code=kecamatan, status=status))  # fmt: skip


async def _rows(db) -> list[tuple[OutboxRow, Contact]]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        found = await session.execute(
            select(OutboxRow, Contact).join(Contact, Contact.id == OutboxRow.contact_id).order_by(OutboxRow.id)
        )
        return [(row, contact) for row, contact in found.all()]


async def test_one_digest_per_coordinator_per_local_day(db, cipher) -> None:  # type: ignore[no-untyped-def]
    kota = await _staff(db, "Koor Kota", ("3673",), telegram="700100")
    lebak = await _staff(db, "Koor Lebak", (MUNCANG,), whatsapp="+6281299990000")
    await _staff(db, "Koor Pandeglang", ("3601",), telegram="700200")  # nothing waiting there
    await _staff(db, "Koor Tanpa Chat", ("3673",))  # no chat identity: nowhere to send
    gone = await _staff(db, "Koor Lama", ("3673",), telegram="700300")
    await _staff(db, "Staf Kantor", (), role="staff", telegram="700400")
    async with db.session() as session:
        (await session.get(Staff, gone)).active = False  # type: ignore[union-attr]  # left the branch
    for name in ("Ani Lestari", "Budi Santoso"):
        await add_lead(db, cipher, name=name, kecamatan=KASEMEN, created_at=OLD)
    await add_lead(db, cipher, name="Baru Saja", kecamatan=KASEMEN, created_at=NOW - timedelta(hours=2))
    await add_lead(db, cipher, name="Sudah Ditelepon", kecamatan=KASEMEN, status="contacted", created_at=OLD)
    await _callback(db, KASEMEN)
    await _callback(db, MUNCANG)
    await _callback(db, "360101", status="done")  # Pandeglang: done, not waiting

    woken: list[bool] = []
    assert await digest.send_digests(db, lambda: woken.append(True), NOW, followup_hours=48, tz="Asia/Jakarta") == 2
    assert woken == [True]
    rows = await _rows(db)
    assert [(c.channel, c.external_id) for _, c in rows] == [("telegram", "700100"), ("whatsapp", "6281299990000")]
    first, second = (r for r, _ in rows)
    assert (first.kind, first.state, first.priority, first.source_key) == ("digest", "queued", 0, f"d{kota}:2026-11-25")
    assert first.payload["waiting"] == 2 and first.payload["callbacks"] == 1 and first.payload["oldest_days"] == 3
    assert (second.payload["waiting"], second.payload["callbacks"], second.source_key) == (0, 1, f"d{lebak}:2026-11-25")

    # A second run the same local day (even late in the evening) queues nothing.
    assert await digest.send_digests(db, None, NOW + timedelta(hours=14), followup_hours=48) == 0
    assert len(await _rows(db)) == 2
    # The next local day (07:30 WIB on the 26th) queues again; the contacts are reused.
    assert await digest.send_digests(db, None, NOW + timedelta(days=1), followup_hours=48) == 2
    rows = await _rows(db)
    assert len(rows) == 4 and len({c.id for _, c in rows}) == 2
    assert rows[2][0].source_key == f"d{kota}:2026-11-26"


async def test_the_digest_says_counts_and_never_a_workers_data(db, cipher) -> None:  # type: ignore[no-untyped-def]
    await _staff(db, "Koor Kota", ("3673",), telegram="700100")
    await add_lead(db, cipher, name="Ani Lestari", kecamatan=KASEMEN, created_at=OLD, phone="+6281311112222")
    await _callback(db, KASEMEN)
    assert await digest.send_digests(db, None, NOW) == 1
    ((row, contact),) = await _rows(db)
    text, buttons, variables = digest.render(Renderer(), contact.language, row.payload)
    assert "Koor Kota" in text and "Kota Serang" in text and "*1* permintaan telepon balik" in text
    assert "*1* calon peserta baru" in text and "48 jam" in text and "/leads" in text
    stored = repr(row.payload) + text
    for secret in ("Ani", "3673015501900001", "550190", "6281311112222", "Tolong telepon"):
        assert secret not in stored
    assert buttons == () and variables == ("1", "1")
    english = digest.render(Renderer(), "en", row.payload)[0]
    assert "Good morning, Koor Kota" in english and "*1* callback requests" in english


async def test_nothing_waiting_means_no_digest(db, cipher) -> None:  # type: ignore[no-untyped-def]
    await _staff(db, "Koor Kota", ("3673",), telegram="700100")
    await add_lead(db, cipher, kecamatan=KASEMEN, created_at=NOW - timedelta(hours=47))  # not yet overdue
    await add_lead(db, cipher, kecamatan=MUNCANG, created_at=OLD)  # another coordinator's area
    await _callback(db, KASEMEN, status="done")
    assert await digest.send_digests(db, None, NOW, followup_hours=48) == 0
    assert await _rows(db) == []
    async with db.session() as session:  # and no contact was made for the coordinator either
        assert await session.scalar(select(Contact).where(Contact.external_id == "700100")) is None


def _worker_sends_digests() -> bool:
    from bot.delivery import worker

    return hasattr(worker, "digest")  # the worker renders `digest` rows (see bot/delivery/digest.py)


@pytest.mark.skipif(not _worker_sends_digests(), reason="bot/delivery/worker.py does not render digest rows yet")
async def test_the_worker_delivers_the_digest_to_the_coordinators_chat(db, cipher, fake_tg) -> None:  # type: ignore[no-untyped-def]
    from tests.delivery.conftest import make_worker

    await _staff(db, "Koor Kota", ("3673",), telegram="700100")
    await add_lead(db, cipher, kecamatan=KASEMEN, created_at=OLD)
    assert await digest.send_digests(db, None, NOW) == 1
    worker = make_worker(db, fake_tg, rate=None, clock=lambda: NOW + timedelta(minutes=1))
    await run_worker(worker, timeout=20)
    (sent,) = fake_tg.messages_to(700100)
    assert "Koor Kota" in sent.text and "<b>1</b> calon peserta baru" in sent.text
    ((row, _),) = await _rows(db)
    assert row.state == "sent" and row.platform_message_id
