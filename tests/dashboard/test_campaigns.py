"""Campaigns in the dashboard: compose, preview per channel, schedule, progress, results, cancel, access."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from handlers import broadcasts
from storage import outbound
from storage.campaign_models import Broadcast, OutboxRow, RsvpAnswer
from storage.models import Contact
from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead, add_staff, csrf_of, login, settings_for

WIB = ZoneInfo("Asia/Jakarta")
SOSIALISASI = {
    "template": "broadcast_sosialisasi", "text": "", "place": "Kel. Cipare", "date": "2026-12-10", "time": "",
    "campaign_code": "SOS-DES", "kabkota": "3673", "kecamatan": "", "occupation": "", "status": "", "language": "",
    "channel": ["telegram", "whatsapp"], "when": "now", "at": "", "rsvp": "on", "quiet": "defer",
}  # fmt: skip


async def _contacts(db, rows: list[dict]) -> list[int]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        found = []
        for i, row in enumerate(rows):
            contact = Contact(external_id=str(5000 + i), language="id", timezone="Asia/Jakarta", **row)
            session.add(contact)
            await session.flush()
            found.append(contact.id)
        return found


@pytest.fixture
async def world(db, cipher):  # type: ignore[no-untyped-def]
    ids = {
        "admin": await add_staff(db, "Admin", "admin"),
        "staff": await add_staff(db, "Staf Kantor", "staff"),
        "coordinator": await add_staff(db, "Koor Kota", "coordinator", ("3673",)),
    }
    now = datetime.now(UTC)
    ids["contacts"] = await _contacts(db, [
        {"channel": "telegram", "region_code": KASEMEN},
        {"channel": "telegram", "region_code": KASEMEN},
        {"channel": "whatsapp", "region_code": KASEMEN, "last_inbound_at": now - timedelta(hours=2)},
        {"channel": "whatsapp", "region_code": KASEMEN},
        {"channel": "telegram", "region_code": KASEMEN, "opted_out_at": now},
        {"channel": "telegram", "region_code": MUNCANG},  # another kabupaten: not in the segment
    ])  # fmt: skip
    return ids


def _form(token: str, action: str, **changes: object) -> dict[str, object]:
    return {**SOSIALISASI, **changes, "csrf": token, "action": action}


async def _create(client: httpx.AsyncClient, **changes: object) -> int:
    """Schedule ("Jadwalkan") shows the confirmation page; only its own POST stores the broadcast."""
    token = await csrf_of(client, "/campaigns/new")
    r = await client.post("/campaigns/new", data=_form(token, "create", **changes))
    assert r.status_code == 200 and 'id="confirm-form"' in r.text and 'id="recipient-count"' in r.text, r.text
    fields = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', r.text.split('id="confirm-form"')[1])
    data: dict[str, object] = {}
    for name, value in fields:
        value = html.unescape(value)
        if name in ("area", "channel"):
            data.setdefault(name, []).append(value)  # type: ignore[union-attr]
        else:
            data[name] = value
    r = await client.post("/campaigns/new", data={**data, "action": "confirm"})
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/campaigns/(\d+)", r.headers["location"])
    assert match
    return int(match.group(1))


async def test_staff_previews_as_each_channel_shows_it(client: httpx.AsyncClient, world) -> None:  # type: ignore[no-untyped-def]
    await login(client, "Staf Kantor")
    page = await client.get("/campaigns/new")
    assert page.status_code == 200 and "broadcast_sosialisasi" in page.text and 'id="preview"' not in page.text
    token = await csrf_of(client, "/campaigns/new")
    r = await client.post("/campaigns/new", data=_form(token, "preview"))
    assert r.status_code == 200, r.text
    html = r.text
    # 5 contacts in Kota Serang (one opted out); the one in Lebak is not counted.
    assert re.search(r'id="recipient-count">5<', html)
    assert "Akan dikirim: 4; dilewati: berhenti langganan 1" in html
    # WhatsApp: one of the two is outside the 24-hour window, against a daily limit of 250.
    assert re.search(r'id="wa-share">\s*WhatsApp: 1 penerima di luar jendela 24 jam.*250 penerima unik', html, re.S)
    # Telegram gets HTML (bold as <b>), WhatsApp keeps its *bold*; both show the RSVP buttons.
    assert (
        '<div class="bubble telegram-bubble">📢 <b>Sosialisasi BPJS Ketenagakerjaan untuk pekerja mandiri</b>' in html
    )
    assert "&lt;b&gt;Sosialisasi" in html  # the HTML source, shown as text
    assert '<div class="bubble whatsapp-bubble">📢 *Sosialisasi BPJS Ketenagakerjaan untuk pekerja mandiri*' in html
    assert "Kel. Cipare, 10 Desember 2026." in html
    assert (
        '<span class="preview-key telegram-key">Hadir</span><span class="preview-key telegram-key">Tidak bisa</span>'
        in html
    )
    assert (
        '<span class="preview-key whatsapp-key">Hadir</span><span class="preview-key whatsapp-key">Tidak bisa</span>'
        in html
    )
    assert "I will come" in html  # the English rendering too
    # The form keeps what was typed.
    assert 'value="Kel. Cipare"' in html and 'value="SOS-DES"' in html
    # Nothing was stored by a preview.
    assert "Belum ada kampanye." in (await client.get("/campaigns")).text


@pytest.mark.parametrize("configured", [False, True])
async def test_preview_says_whether_the_broadcast_template_is_configured(  # type: ignore[no-untyped-def]
    client: httpx.AsyncClient, runtime, world, monkeypatch: pytest.MonkeyPatch, configured: bool
) -> None:
    # The page reads the one settings object read at start, never the environment of the moment.
    monkeypatch.setenv("WHATSAPP_TEMPLATE_BROADCAST", "kabar_bpu_v2:id")
    if configured:
        runtime.settings = settings_for(runtime.db.url, whatsapp_templates={"broadcast": "kabar_bpu_v2:id"})
    await login(client, "Staf Kantor")
    token = await csrf_of(client, "/campaigns/new")
    r = await client.post("/campaigns/new", data=_form(token, "preview"))
    assert r.status_code == 200 and "WhatsApp mengirim template yang disetujui" in r.text, r.text
    assert ("Template itu belum diatur" in r.text) is not configured


async def test_free_text_is_escaped_and_mistakes_are_explained(client: httpx.AsyncClient, db, world) -> None:  # type: ignore[no-untyped-def]
    await login(client, "Admin")
    token = await csrf_of(client, "/campaigns/new")
    r = await client.post(
        "/campaigns/new",
        data=_form(token, "preview", template="", text="Halo *semua* <script>alert(1)</script> & teman"),
    )
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text
    assert "Halo <b>semua</b> &lt;script&gt;alert(1)&lt;/script&gt; &amp; teman" in r.text
    mistakes = [
        ({"text": "dua-duanya"}, "Pilih template ATAU tulis teks"),
        ({"place": ""}, "Isi kolom ini: Tempat"),
        ({"template": "", "text": ""}, "Pilih template ATAU tulis teks"),
        ({"template": "greet"}, "Template tidak dikenal"),
        ({"kecamatan": "999999"}, "Kode wilayah tidak dikenal: 999999"),
        ({"channel": []}, "Sasaran tidak sah"),
        ({"campaign_code": "bad code!"}, "Kode hanya boleh"),
        ({"when": "at", "at": "2020-01-01T09:00"}, "Waktu kirim sudah lewat"),
        ({"when": "at", "at": ""}, "Isi tanggal dan jam kirim"),
    ]
    for changes, message in mistakes:
        r = await client.post("/campaigns/new", data=_form(token, "create", **changes))
        assert r.status_code == 400 and message in r.text, (changes, r.status_code)
    async with db.session() as session:
        assert (await session.scalar(select(Broadcast.id))) is None


async def test_schedule_then_progress_results_and_cancel(client: httpx.AsyncClient, db, cipher, world) -> None:  # type: ignore[no-untyped-def]
    await login(client, "Staf Kantor")
    tomorrow = (datetime.now(WIB) + timedelta(days=1)).date()
    bid = await _create(client, when="at", at=f"{tomorrow}T09:00", kecamatan=KASEMEN)
    async with db.session() as session:
        b = await session.get(Broadcast, bid)
        assert b is not None and b.status == "scheduled" and b.campaign_code == "SOS-DES" and b.rsvp
        assert b.segment == {"area": KASEMEN} and b.channels == "telegram,whatsapp"
        assert b.variables == {"place": "Kel. Cipare", "date": "2026-12-10", "time": ""}
        at = b.scheduled_at if b.scheduled_at.tzinfo else b.scheduled_at.replace(tzinfo=UTC)
        assert at == datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=WIB)
        assert b.created_by == f"staff:{world['staff']}"
    page = await client.get(f"/campaigns/{bid}")
    assert page.status_code == 200 and "Terjadwal" in page.text and 'http-equiv="refresh"' not in page.text
    assert f"{tomorrow:%d-%m-%Y} 09:00" in page.text and "Staf Kantor" in page.text

    # The scheduler's fan-out at its time; then the worker's outcomes and WhatsApp's receipts.
    async with db.session() as session:
        b = await session.get(Broadcast, bid)
        assert await broadcasts.fan_out(session, b, at, daily_limit=0) == 5
    tg1, tg2, wa1, wa2, opted, _ = world["contacts"]
    async with db.session() as session:

        def outcome(contact: int, **values: object):  # type: ignore[no-untyped-def]
            return (
                update(OutboxRow).where(OutboxRow.broadcast_id == bid, OutboxRow.contact_id == contact).values(**values)
            )

        await session.execute(outcome(tg1, state="sent", platform_message_id="5000:77", finished_at=at))
        await session.execute(outcome(wa1, state="sent", platform_message_id="wamid.A1", finished_at=at))
        await session.execute(outcome(wa2, state="sent", platform_message_id="wamid.B1,wamid.B2", finished_at=at))
        await session.execute(outcome(tg2, state="failed", reason="gave_up", finished_at=at))
        await outbound.record_sent(session, channel="whatsapp", contact_id=wa1, platform_message_id="wamid.A1",
                                   purpose="broadcast", status="accepted")  # fmt: skip
        await outbound.apply_status(session, channel="whatsapp", platform_message_id="wamid.A1", status="read")
        await outbound.apply_status(session, channel="whatsapp", platform_message_id="wamid.B1", status="delivered")
        await outbound.apply_status(
            session, channel="whatsapp", platform_message_id="wamid.X", status="read"
        )  # not ours
        session.add(RsvpAnswer(broadcast_id=bid, contact_id=wa1, answer="yes"))
    await add_lead(db, cipher, name="Lewat Poster", campaign="SOS-DES")
    await add_lead(db, cipher, name="Lain", campaign="OTHER")

    page = await client.get(f"/campaigns/{bid}")
    html = page.text
    assert '<meta http-equiv="refresh" content="5">' in html  # still sending: the page follows it
    assert '<progress id="progress-bar" max="5" value="5">' in html  # 3 sent, 1 failed, 1 skipped
    counts = dict(re.findall(r'id="n-([a-z-]+)">(?:<a [^>]+>)?([\d.—]+)<', html))
    assert counts == {
        "queued": "0", "sent": "3", "delivered": "2", "read": "1", "failed": "1", "skipped": "1",
        "rsvp-yes": "1", "rsvp-no": "0", "leads": "1",
    }  # fmt: skip
    assert "menyerah setelah beberapa percobaan: 1" in html and "berhenti langganan: 1" in html
    listing = await client.get("/campaigns")
    assert f'href="/campaigns/{bid}"' in listing.text and '<progress max="5" value="5">' in listing.text

    token = await csrf_of(client, f"/campaigns/{bid}")
    async with db.session() as session:  # one more row still waiting, to see the cancel skip it
        await session.execute(update(OutboxRow).where(OutboxRow.contact_id == tg2).values(state="queued", reason=None))
    r = await client.post(f"/campaigns/{bid}/cancel", data={"csrf": token})  # asks first
    assert r.status_code == 200 and "Yakin membatalkan kampanye ini? 1 pesan" in r.text
    async with db.session() as session:
        assert (await session.get(Broadcast, bid)).status == "sending"  # type: ignore[union-attr]
    r = await client.post(f"/campaigns/{bid}/cancel", data={"csrf": token, "confirm": "yes"})
    assert r.status_code == 303 and r.headers["location"] == f"/campaigns/{bid}"
    page = await client.get(f"/campaigns/{bid}")
    assert "Dibatalkan" in page.text and 'id="cancel-form"' not in page.text and "refresh" not in page.text
    assert "dibatalkan: 1" in page.text
    async with db.session() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.broadcast_id == bid, OutboxRow.contact_id == tg2))
        assert row is not None and (row.state, row.reason) == ("skipped", "cancelled")


async def test_latest_campaigns_for_the_overview_in_one_query(db, world) -> None:  # type: ignore[no-untyped-def]
    from bot.dashboard import queries

    now = datetime.now(UTC)
    async with db.session() as session:
        first = await broadcasts.create(session, created_by="cli", segment={}, channels=["whatsapp"], template=None,
                                        text="satu", now=now)  # fmt: skip
        await broadcasts.fan_out(session, first, now, daily_limit=0)
        second = await broadcasts.create(session, created_by="cli", segment={}, channels=["telegram"], template=None,
                                         text="dua", rsvp=True, now=now)  # fmt: skip
        second.campaign_code = "DUA"
        await session.execute(update(OutboxRow).where(OutboxRow.broadcast_id == first.id, OutboxRow.contact_id == world["contacts"][2])
                              .values(state="sent", platform_message_id="wamid.Z"))  # fmt: skip
        await outbound.apply_status(session, channel="whatsapp", platform_message_id="wamid.Z", status="read")
        session.add(RsvpAnswer(broadcast_id=second.id, contact_id=world["contacts"][0], answer="no"))
        ids = (first.id, second.id)
    async with db.session() as session:
        rows = await queries.latest_campaigns(session)
    assert [r.broadcast.id for r in rows] == [ids[1], ids[0]]
    newest, oldest = rows
    assert (oldest.recipients, oldest.finished, oldest.sent, oldest.delivered, oldest.read) == (2, 1, 1, 1, 1)
    assert (newest.recipients, newest.rsvp_no, newest.leads) == (0, 1, 0)


async def test_overview_shows_campaigns_to_the_office_only(client: httpx.AsyncClient, world) -> None:  # type: ignore[no-untyped-def]
    await login(client, "Staf Kantor")
    bid = await _create(client)
    page = await client.get("/")
    assert 'id="campaigns"' in page.text and 'href="/campaigns' in page.text
    from bot.dashboard import overview

    if "latest_campaigns" in Path(overview.__file__).read_text(encoding="utf-8"):  # wired by overview.py
        assert f'href="/campaigns/{bid}"' in page.text
    await client.post("/logout", data={"csrf": await csrf_of(client, "/")})
    await login(client, "Koor Kota")
    page = await client.get("/")
    assert page.status_code == 200 and 'id="campaigns"' not in page.text and "/campaigns" not in page.text


@pytest.mark.parametrize("who", ["visitor", "coordinator"])
async def test_no_campaign_data_for_a_visitor_or_a_coordinator(client: httpx.AsyncClient, db, world, who: str) -> None:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        b = await broadcasts.create(session, created_by="cli", segment={}, channels=["telegram"], template=None,
                                    text="Rahasia kantor", now=datetime.now(UTC) + timedelta(days=1))  # fmt: skip
        bid = b.id
    token = await csrf_of(client, "/login")
    if who == "coordinator":
        await login(client, "Koor Kota")
        token = await csrf_of(client, "/leads")
    for path in ("/campaigns", "/campaigns/new", f"/campaigns/{bid}", f"/campaigns/{bid}/attendees",
                 f"/campaigns/{bid}/attendees.csv"):  # fmt: skip
        r = await client.get(path)
        if who == "visitor":
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        else:
            assert r.status_code == 403, path
        assert "Rahasia" not in r.text
    for path, data in (("/campaigns/new", _form(token, "create")), ("/campaigns/new", _form(token, "preview")),
                       ("/campaigns/new", _form(token, "confirm")),
                       (f"/campaigns/{bid}/cancel", {"csrf": token, "confirm": "yes"})):  # fmt: skip
        r = await client.post(path, data=data)
        assert r.status_code == (401 if who == "visitor" else 403), path
        assert "Rahasia" not in r.text and "recipient-count" not in r.text
    async with db.session() as session:
        assert [b.status for b in (await session.scalars(select(Broadcast))).all()] == ["scheduled"]


async def test_every_campaign_post_needs_its_csrf_token(client: httpx.AsyncClient, db, world) -> None:  # type: ignore[no-untyped-def]
    await login(client, "Admin")
    bid = await _create(client)
    for path, data in (
        ("/campaigns/new", _form("forged", "confirm")),
        (f"/campaigns/{bid}/cancel", {"confirm": "yes"}),
    ):
        r = await client.post(path, data={k: v for k, v in data.items() if k != "csrf"})
        assert r.status_code == 403, path
        r = await client.post(path, data={**data, "csrf": "forged"})
        assert r.status_code == 403, path
    async with db.session() as session:
        assert [b.status for b in (await session.scalars(select(Broadcast))).all()] == ["scheduled"]
    assert (await client.get("/campaigns/999")).status_code == 404
