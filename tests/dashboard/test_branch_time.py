"""Issue 16 item 5 in the dashboard: a campaign's time is typed in BPU_TIMEZONE and kept as that
instant; every time staff read (campaign list and page, lead page, CSV and XLSX exports) is in the
zone with its abbreviation (WIB; in exports, in the time column's header)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from storage.campaign_models import Broadcast
from tests.dashboard.conftest import add_lead, add_staff, csrf_of, login

FORM = {
    "template": "", "text": "Sosialisasi BPU", "place": "", "date": "", "time": "", "campaign_code": "",
    "kabkota": "3673", "kecamatan": "", "occupation": "", "status": "", "language": "",
    "channel": ["telegram"], "when": "at", "rsvp": "", "quiet": "defer",
}  # fmt: skip


async def test_campaign_time_typed_and_shown_in_wib(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Staf Kantor", "staff")
    await login(client, "Staf Kantor")
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    assert "Waktu (WIB, Asia/Jakarta)" in (await client.get("/campaigns/new")).text
    token = await csrf_of(client, "/campaigns/new")
    r = await client.post("/campaigns/new", data={**FORM, "at": f"{day}T23:30", "csrf": token, "action": "create"})
    # 23:30 WIB is in the quiet hours (21-7): the confirmation page says what happens to it.
    assert r.status_code == 200 and "waktu kirim 23.30 masuk jam tenang (21.00–07.00)" in r.text
    assert f"{day:%d-%m-%Y} 23:30" in r.text
    r = await client.post("/campaigns/new", data={**FORM, "at": f"{day}T23:30", "csrf": token, "action": "confirm"})
    assert r.status_code == 303, r.text
    bid = int(re.fullmatch(r"/campaigns/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    async with db.session() as session:
        b = await session.scalar(select(Broadcast).where(Broadcast.id == bid))
        assert b is not None
        assert b.scheduled_at == datetime(day.year, day.month, day.day, 16, 30, tzinfo=UTC)
    shown = f"{day:%d-%m-%Y} 23:30 WIB"
    assert shown in (await client.get(f"/campaigns/{bid}")).text
    assert shown in (await client.get("/campaigns")).text


async def test_lead_page_and_exports_in_wib(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    lead = await add_lead(db, cipher, created_at=datetime(2026, 11, 30, 18, 5, tzinfo=UTC))  # 1 Dec, 01:05 WIB
    await login(client, "Admin")
    assert "01-12-2026 01:05 WIB" in (await client.get(f"/leads/{lead}")).text
    assert "01-12-2026 01:05 WIB" in (await client.get("/leads")).text

    exported = await client.get("/leads/export.csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0]["Tanggal masuk (WIB)"] == "2026-12-01 01:05"  # the zone in the header, a date Excel reads

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO((await client.get("/leads/export.xlsx")).content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][values[0].index("Tanggal masuk (WIB)")] == datetime(2026, 12, 1, 1, 5)  # noqa: DTZ001  # a date cell: local, no zone
