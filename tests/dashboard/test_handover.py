"""A worker asks for a person: the request is recorded, masked, for the coordinator of their area."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import select

from content.render import Renderer
from handlers.handover import request_callback
from handlers.messages import IncomingMessage
from handlers.turn import Services, Turn
from storage import repositories as repo
from storage.dashboard_models import CallbackRequest
from storage.turns import TurnStore
from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead, add_staff, csrf_of, login


async def _ask(db, cipher, matcher, text: str, user: str = "w1", region: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        contact, _ = await repo.get_or_create_contact(session, "telegram", user)
        if region:
            contact.region_code = region
        state = await repo.get_state(session, contact)
        turn = Turn(
            msg=IncomingMessage(channel="telegram", user_id=user, text=text),
            text=text,
            contact=contact,
            state=state,
            store=TurnStore.around(session),
            services=Services(Renderer(), matcher, cipher, "Asia/Jakarta"),
            now=datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
            today=date(2026, 11, 25),
        )
        await request_callback(turn)
        return [r.text for r in turn.replies]


async def test_request_is_recorded_masked_with_the_area(db, cipher, matcher) -> None:  # type: ignore[no-untyped-def]
    said = await _ask(db, cipher, matcher, "tolong telepon saya di 081234567890 ya", region=KASEMEN)
    assert any("Senin-Jumat 08.00-16.00" in s for s in said) and any("175" in s for s in said)
    again = await _ask(db, cipher, matcher, "kapan ditelepon?", region=KASEMEN)
    assert "sebelumnya" in again[0]
    async with db.session() as session:
        rows = (await session.scalars(select(CallbackRequest))).all()
    assert len(rows) == 1  # asking twice is one request
    # A later message adds to the request, never overwrites it (issue 13); the phone typed in it is kept.
    assert rows[0].kecamatan_code == KASEMEN and rows[0].status == "open"
    assert rows[0].question == "tolong telepon saya di 0812******90 ya\n— kapan ditelepon?"
    await _ask(db, cipher, matcher, "nomor saya 081234567890", user="w2")
    async with db.session() as session:
        second = await session.scalar(select(CallbackRequest).where(CallbackRequest.id != rows[0].id))
    assert "081234567890" not in second.question and second.kecamatan_code is None


async def test_the_area_comes_from_the_latest_lead(db, cipher, matcher) -> None:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        contact, _ = await repo.get_or_create_contact(session, "telegram", "w3")
        contact_id = contact.id
    await add_lead(db, cipher, kecamatan=MUNCANG, contact_id=contact_id)
    await _ask(db, cipher, matcher, "mau bicara dengan petugas", user="w3")
    async with db.session() as session:
        assert (await session.scalar(select(CallbackRequest.kecamatan_code))) == MUNCANG


async def test_the_coordinator_sees_and_closes_requests_of_their_area(
    client: httpx.AsyncClient, db, cipher, matcher
) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    await _ask(db, cipher, matcher, "tanya soal klaim JKK", user="a", region=KASEMEN)
    await _ask(db, cipher, matcher, "tanya soal iuran", user="b", region=MUNCANG)
    await login(client, "Koor Kota")
    page = await client.get("/leads")
    assert "tanya soal klaim JKK" in page.text and "tanya soal iuran" not in page.text
    async with db.session() as session:
        ids = {r.question: r.id for r in (await session.scalars(select(CallbackRequest))).all()}
    token = await csrf_of(client, "/leads")
    note = {"csrf": token, "note": "Sudah ditelepon"}
    assert (await client.post(f"/callbacks/{ids['tanya soal iuran']}/done", data=note)).status_code == 404
    mine = f"/callbacks/{ids['tanya soal klaim JKK']}/done"
    assert (await client.post(mine, data={"csrf": token})).status_code == 400  # closed with a note, or not at all
    assert (await client.post(mine, data=note)).status_code == 303
    assert "tanya soal klaim JKK" not in (await client.get("/leads")).text
    async with db.session() as session:
        done = await session.get(CallbackRequest, ids["tanya soal klaim JKK"])
        assert done.status == "done" and done.done_by_staff_id is not None and done.done_at is not None


def test_templates_exist_in_both_languages() -> None:
    for lang in ("id", "en"):
        text = Renderer().render("handover_recorded", lang, office_hours="Senin-Jumat 08.00-16.00", repeated=False)
        assert "Senin-Jumat" in text and "175" in text


@pytest.fixture
def bot_api():  # type: ignore[no-untyped-def]
    """The fake Bot API on a thread of its own (tests/delivery/conftest.py)."""
    from tests.delivery.conftest import ThreadedFake

    server = ThreadedFake()
    yield server.fake
    server.close()


async def test_reply_from_the_dashboard_reaches_the_worker_and_the_answer_comes_back(
    client: httpx.AsyncClient, db, engine, clock, bot_api
) -> None:  # type: ignore[no-untyped-def]
    """The dashboard half of the round trip: the request's page shows the question and the phone
    the worker gave in full; a reply typed there reaches the worker through the bot; the worker's
    answer is on the page (and in the coordinator's chat); closing takes a note."""
    from tests.delivery.conftest import make_worker
    from tests.delivery.helpers import run_worker
    from tests.factories import Chat

    koor = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    await add_staff(db, "Koor Lebak", "coordinator", ("3602",))
    async with db.session() as session:
        from storage.models import StaffIdentity

        session.add(StaffIdentity(staff_id=koor, channel="telegram", external_id="700100"))
    worker = Chat(engine, user="555001", channel="telegram")
    await worker.say("halo")
    await worker.say("kartu peserta ayah saya hilang waktu banjir")
    await worker.press_payload("t:human", "Bicara ke petugas")
    await worker.say("0812 3456 7890")
    await worker.say("Kasemen")
    async with db.session() as session:
        request_id = await session.scalar(select(CallbackRequest.id))

    def drain():  # type: ignore[no-untyped-def]
        return run_worker(make_worker(db, bot_api, rate=None, clock=lambda: clock.now))

    await drain()
    assert "hilang waktu banjir" in bot_api.messages_to(700100)[0].text  # the alert, at once

    await login(client, "Koor Lebak")  # another area: not theirs to see
    assert (await client.get(f"/callbacks/{request_id}")).status_code == 404
    client.cookies.clear()
    await login(client, "Koor Kota")
    page = await client.get(f"/callbacks/{request_id}")
    assert page.status_code == 200 and "hilang waktu banjir" in page.text
    assert 'href="tel:+6281234567890"' in page.text  # the phone the worker gave, in full
    assert f'href="/callbacks/{request_id}"' in (await client.get("/leads")).text
    token = await csrf_of(client, f"/callbacks/{request_id}")
    answer = await client.post(
        f"/callbacks/{request_id}/reply", data={"csrf": token, "text": "Besok saya telepon, Bu."}
    )
    assert answer.status_code == 303
    await drain()
    assert any("Besok saya telepon, Bu." in m.text for m in bot_api.messages_to(555001))

    await worker.say("Baik, saya tunggu pak")
    await drain()
    assert "Baik, saya tunggu pak" in bot_api.messages_to(700100)[-1].text
    page = await client.get(f"/callbacks/{request_id}")
    assert page.text.index("Besok saya telepon, Bu.") < page.text.index("Baik, saya tunggu pak")

    closed = await client.post(
        f"/callbacks/{request_id}/done", data={"csrf": token, "note": "Ditelepon, datang Senin."}
    )
    assert closed.status_code == 303
    page = await client.get(f"/callbacks/{request_id}")
    assert "Ditelepon, datang Senin." in page.text and 'id="reply-form"' not in page.text
    late = await client.post(f"/callbacks/{request_id}/reply", data={"csrf": token, "text": "halo?"})
    assert late.status_code == 400
