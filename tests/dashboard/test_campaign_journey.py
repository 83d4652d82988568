"""A campaign end to end (issue 16 item 7): composed and confirmed in the dashboard, sent by the
delivery worker to a fake Telegram with its link, followed by a worker who then leaves their
details and is counted as the campaign's lead; the RSVP attendee list, printed and exported, and
a reminder to those who said they will come."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from handlers import broadcasts, links
from storage.campaign_models import Broadcast, RsvpAnswer
from storage.models import Contact, Lead
from tests.channels.fake_telegram import FakeTelegram
from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead, add_staff, csrf_of, login
from tests.delivery.conftest import TOKEN, make_worker
from tests.delivery.helpers import run_worker
from tests.factories import Chat
from tests.forms import fill_to_summary

FORM = {
    "template": "", "text": "Sosialisasi BPU hari Sabtu di kantor kelurahan.", "place": "", "date": "", "time": "",
    "campaign_code": "SOS-SABTU", "occupation": "", "status": "", "language": "", "channel": ["telegram"],
    "when": "now", "at": "", "quiet": "defer",
}  # fmt: skip


async def _confirm(client: httpx.AsyncClient, form: dict[str, object]) -> tuple[int, str]:
    """Jadwalkan, then the confirmation page's own POST: the broadcast's id and the confirmation page."""
    token = await csrf_of(client, "/campaigns/new")
    shown = await client.post("/campaigns/new", data={**form, "csrf": token, "action": "create"})
    assert shown.status_code == 200 and 'id="confirm-form"' in shown.text, shown.text
    hidden = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', shown.text.split("confirm-form")[1])
    data: dict[str, object] = {}
    for name, value in hidden:
        if name in ("area", "channel"):
            data.setdefault(name, []).append(html.unescape(value))  # type: ignore[union-attr]
        else:
            data[name] = html.unescape(value)
    r = await client.post("/campaigns/new", data={**data, "action": "confirm"})
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1]), shown.text


async def test_a_worker_who_follows_the_broadcast_link_is_the_campaigns_lead(client, db, engine) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Staf Kantor", "staff")
    worker = Chat(engine, user="7001", channel="telegram")
    await worker.say("halo")  # a worker the bot knows on Telegram, not yet a lead
    await login(client, "Staf Kantor")
    bid, confirm = await _confirm(client, FORM)
    assert re.search(r'id="recipient-count">1<', confirm)
    assert "https://t.me/bpu_serang_bot?start=SOS-SABTU" in confirm  # the preview shows the link it carries

    fake = await FakeTelegram(TOKEN).start()
    try:
        now = datetime.now(UTC)
        async with db.session() as session:
            b = await session.get(Broadcast, bid)
            assert b is not None and await broadcasts.fan_out(session, b, now, daily_limit=0) == 1
        await run_worker(make_worker(db, fake), timeout=20)
        sent = [c.params for c in fake.calls_of("sendMessage") if str(c.params.get("chat_id")) == "7001"]
    finally:
        await fake.stop()
    assert len(sent) == 1 and sent[0]["text"].startswith("Sosialisasi BPU hari Sabtu")
    link = re.search(r"https://t\.me/bpu_serang_bot\?start=(\S+)", sent[0]["text"])
    assert link is not None and link.group(1) == "SOS-SABTU"

    # The worker taps the link: Telegram sends "/start SOS-SABTU"; then they leave their details.
    typed = f"/start {link.group(1)}"
    await worker.say(typed, start_code=links.start_code(typed))
    await fill_to_summary(worker)
    await worker.press("Kirim")
    async with db.session() as session:
        lead = await session.scalar(select(Lead).where(Lead.full_name.ilike("siti aminah")))
        assert lead is not None and lead.campaign_code == "SOS-SABTU"

    page = (await client.get(f"/campaigns/{bid}")).text
    assert re.search(r'id="n-leads"><a href="/leads\?campaign=SOS-SABTU">1<', page)
    assert 'id="link-telegram">https://t.me/bpu_serang_bot?start=SOS-SABTU<' in page
    overview = (await client.get("/")).text.split('id="campaigns"')[1]
    assert re.search(rf'href="/campaigns/{bid}".*?<td>1</td>\s*</tr>', overview, re.S)  # its leads column


async def test_several_areas_by_name_and_a_cancel_that_asks_first(client, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    async with db.session() as session:
        for i, region in enumerate((KASEMEN, MUNCANG, "360101")):
            session.add(Contact(channel="telegram", external_id=str(8000 + i), language="id", region_code=region))
    await login(client, "Admin")
    form = {**FORM, "when": "at", "at": "2099-01-05T10:00", "area": ["Kota Serang › Kasemen (367302)", "lebak", ""]}
    bid, confirm = await _confirm(client, form)
    assert re.search(r'id="recipient-count">2<', confirm)  # Kasemen and Lebak, not Pandeglang
    assert "Kota Serang › Kasemen (367302); Kab. Lebak (3602)" in html.unescape(confirm)
    async with db.session() as session:
        b = await session.get(Broadcast, bid)
        assert b is not None and b.segment == {"area": "367302,3602"} and b.status == "scheduled"
    detail = (await client.get(f"/campaigns/{bid}")).text
    assert 'id="segment">Kasemen (367302); Kab. Lebak (3602)</dd>' in detail
    bad = await client.post(
        "/campaigns/new",
        data={**form, "area": ["Kota Atlantis"], "csrf": await csrf_of(client, "/campaigns/new"), "action": "create"},
    )
    assert bad.status_code == 400 and "Kode wilayah tidak dikenal: Kota Atlantis" in bad.text
    token = await csrf_of(client, f"/campaigns/{bid}")
    asked = await client.post(f"/campaigns/{bid}/cancel", data={"csrf": token})
    assert asked.status_code == 200 and "Yakin membatalkan" in asked.text and 'name="confirm" value="yes"' in asked.text
    async with db.session() as session:
        assert (await session.get(Broadcast, bid)).status == "scheduled"  # type: ignore[union-attr]
    done = await client.post(f"/campaigns/{bid}/cancel", data={"csrf": token, "confirm": "yes"})
    assert done.status_code == 303
    async with db.session() as session:
        assert (await session.get(Broadcast, bid)).status == "cancelled"  # type: ignore[union-attr]


async def test_attendee_list_printed_exported_and_reminded(client, db, cipher) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    await add_staff(db, "Staf Kantor", "staff")
    now = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # 09:30 WIB
    async with db.session() as session:
        b = await broadcasts.create(session, created_by="test", segment={}, channels=["telegram", "whatsapp"],
                                    template=None, text="Sosialisasi Sabtu", rsvp=True, now=now)  # fmt: skip
        bid = b.id
        with_lead = Contact(channel="telegram", external_id="9001", language="id", display_name="siti_tg")
        on_whatsapp = Contact(channel="whatsapp", external_id="6281299990000", language="id",
                              display_name="Pak Udin", region_code=MUNCANG)  # fmt: skip
        declined = Contact(channel="telegram", external_id="9002", language="id", display_name="Tidak Ikut")
        session.add_all([with_lead, on_whatsapp, declined])
        await session.flush()
        for contact, answer in ((with_lead, "yes"), (on_whatsapp, "yes"), (declined, "no")):
            session.add(RsvpAnswer(broadcast_id=bid, contact_id=contact.id, answer=answer, answered_at=now))
        contact_ids = (with_lead.id, on_whatsapp.id)
    await add_lead(db, cipher, name="Siti Aminah", kecamatan=KASEMEN, phone="+6281234567890", contact_id=contact_ids[0])
    await login(client, "Staf Kantor")

    detail = (await client.get(f"/campaigns/{bid}")).text
    assert f'href="/campaigns/{bid}/attendees"' in detail and f'href="/campaigns/new?rsvp={bid}"' in detail
    page = (await client.get(f"/campaigns/{bid}/attendees")).text
    assert re.search(r'id="attendee-count">2<', page) and "Tidak Ikut" not in page
    assert "Siti Aminah" in page and "+6281234567890" in page and "Kasemen" in page and "Kota Serang" in page
    assert "Pak Udin" in page and "+6281299990000" in page and "Muncang" in page and "01-12-2026 09:30" in page
    assert "data-print" in page and '<script src="/static/print.js" defer>' in page  # no inline script (CSP)
    assert "window.print()" in (await client.get("/static/print.js")).text

    r = await client.get(f"/campaigns/{bid}/attendees.csv")
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["No.", "Nama", "HP", "Kabupaten/kota", "Kecamatan", "Kanal", "Menjawab pada"]
    assert rows[1:] == [
        ["1", "Pak Udin", "0812-9999-0000", "Kab. Lebak", "Muncang", "WhatsApp", "2026-12-01 09:30"],
        ["2", "Siti Aminah", "0812-3456-7890", "Kota Serang", "Kasemen", "Telegram", "2026-12-01 09:30"],
    ]
    r = await client.get(f"/campaigns/{bid}/attendees.xlsx")
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None and sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert sheet["C3"].value == "+6281234567890" and sheet["C3"].number_format == "@"
    assert sheet["G2"].value == datetime(2026, 12, 1, 9, 30)  # noqa: DTZ001 (a local time, as Excel holds it) and sheet["B2"].value == "Pak Udin"
    assert (await client.get(f"/campaigns/{bid}/attendees.pdf")).status_code == 404

    # The reminder: the compose page prefilled for those who said they will come.
    compose = (await client.get(f"/campaigns/new?rsvp={bid}")).text
    assert f'name="rsvp_of" value="{bid}"' in compose and "Sosialisasi Sabtu" in compose
    reminder = {**FORM, "text": "Pengingat: besok Sabtu jam 09.00.", "channel": ["telegram", "whatsapp"],
                "rsvp_of": str(bid), "campaign_code": ""}  # fmt: skip
    rid, confirm = await _confirm(client, reminder)
    assert re.search(r'id="recipient-count">2<', confirm)
    async with db.session() as session:
        r_b = await session.get(Broadcast, rid)
        assert r_b is not None and r_b.segment == {"rsvp": f"{bid}:yes"} and r_b.campaign_code == f"kampanye-{rid}"
        cond = broadcasts.recipients_condition(r_b.segment, ["telegram", "whatsapp"])
        assert set((await session.scalars(select(Contact.id).where(cond))).all()) == set(contact_ids)


async def test_the_whatsapp_link_text_attributes_the_worker_too(client, db, engine) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import parse_qs, urlparse

    from content.render import Renderer

    await add_staff(db, "Staf Kantor", "staff")
    await login(client, "Staf Kantor")
    bid, _ = await _confirm(client, {**FORM, "channel": ["whatsapp"], "campaign_code": "WA-PASAR"})
    async with db.session() as session:
        b = await session.get(Broadcast, bid)
        assert b is not None
    text = broadcasts.render_broadcast(Renderer(), b, "id", channel="whatsapp")[0]
    link = re.search(r"https://wa\.me/6281200001111\?text=\S+", text)
    assert link is not None and "t.me" not in text
    opened = parse_qs(urlparse(link.group(0)).query)["text"][0]  # what WhatsApp puts in the worker's box
    assert opened.endswith("Kode: WA-PASAR")
    worker = Chat(engine, user="6281277778888")
    await worker.say(opened)
    await fill_to_summary(worker)
    await worker.press("Kirim")
    page = (await client.get(f"/campaigns/{bid}")).text
    assert re.search(r'id="n-leads"><a href="/leads\?campaign=WA-PASAR">1<', page)
