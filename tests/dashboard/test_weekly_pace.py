"""The overview's weekly pace (issue 16 item 9): the yearly target over 52 weeks beside this week's
registrations (weeks start on Monday in WIB), for the branch, by kabupaten/kota and kecamatan and
per coordinator; no environment variable name shown to anyone; one colour per funnel stage."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.dashboard import targets
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from storage.dashboard_models import CoordinatorTarget
from storage.models import LeadEvent
from tests.conftest import TEST_SECRET
from tests.dashboard.conftest import KASEMEN, MUNCANG, add_lead, add_staff, login

WIB = ZoneInfo("Asia/Jakarta")
ENV_NAME = re.compile(r"\b(BPU|TELEGRAM|WHATSAPP)_[A-Z_]+")


def test_pace_and_week_in_the_branch_time() -> None:
    assert targets.weekly_pace(101_000) == 1943  # 101,000 / 52 = 1,942.3: the pace that reaches it
    assert targets.weekly_pace(0) == 0
    # Monday 30 November 2026, 00:30 WIB is Sunday 17:30 UTC: already the new week in Serang.
    start = targets.week_start(datetime(2026, 11, 29, 17, 30, tzinfo=UTC), WIB)
    assert start == datetime(2026, 11, 30, 0, 0, tzinfo=WIB).astimezone(UTC)
    assert targets.week_start(datetime(2026, 11, 29, 16, 59, tzinfo=UTC), WIB) == start - timedelta(weeks=1)


def _row(page: str, table: str, label: str) -> list[str]:
    """The cells of the row named `label` in the pace table `table`, as text."""
    body = page.split(f'id="{table}"')[1].split("</table>")[0]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells and cells[0].lstrip("› ").strip() == label:
            return cells
    raise AssertionError(f"no row {label!r} in {table}")


async def test_weekly_pace_by_area_and_coordinator(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    koor = await add_staff(db, "Koor Kota", "coordinator", ("3673",))
    now = datetime.now(UTC)
    monday = targets.week_start(now, WIB)
    async with db.session() as session:
        session.add(CoordinatorTarget(staff_id=koor, target=5200))  # 100 a week
    # This week: saved as registered after Monday 00:00 WIB, and marked registered this week.
    await add_lead(
        db, cipher, name="Baru Daftar", status="registered", assigned=koor, created_at=monday + timedelta(minutes=1)
    )
    older = await add_lead(
        db, cipher, name="Lama", status="registered", assigned=koor, created_at=now - timedelta(days=40)
    )
    # Not this week: registered just before Monday 00:00 WIB, marked weeks ago, or not registered.
    await add_lead(db, cipher, name="Minggu Lalu", status="registered", created_at=monday - timedelta(minutes=1))
    gone = await add_lead(db, cipher, name="Dulu", status="registered", created_at=now - timedelta(days=40))
    await add_lead(db, cipher, name="Dihubungi", status="contacted", created_at=monday + timedelta(minutes=2))
    await add_lead(
        db, cipher, name="Lebak", kecamatan=MUNCANG, status="registered", created_at=monday + timedelta(minutes=3)
    )
    async with db.session() as session:
        session.add(LeadEvent(lead_id=older, status="registered", created_at=monday + timedelta(minutes=5)))
        session.add(LeadEvent(lead_id=gone, status="registered", created_at=now - timedelta(days=30)))

    await login(client, "Admin")
    page = (await client.get("/")).text
    assert 'id="weekly-pace"' in page
    # target, weekly pace, this week (share of the pace)
    assert _row(page, "pace-areas", "Seluruh cabang")[1:] == ["101.000", "1.943", "3 (0%)"]
    assert _row(page, "pace-areas", "Kota Serang")[1:] == ["20.000", "385", "2 (1%)"]
    assert _row(page, "pace-areas", "Kasemen")[1:] == ["—", "—", "2"]
    assert _row(page, "pace-areas", "Kab. Lebak")[1:] == ["15.000", "289", "1 (0%)"]
    assert _row(page, "pace-areas", "Muncang")[1:] == ["—", "—", "1"]
    assert _row(page, "pace-coordinators", "Koor Kota")[1:] == ["5.200", "100", "2 (2%)"]
    assert not ENV_NAME.search(page)

    # The coordinator sees their areas and themselves, not the branch.
    await client.post("/logout", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1)})  # type: ignore[union-attr]
    await login(client, "Koor Kota")
    mine = (await client.get("/")).text
    assert "Seluruh cabang" not in mine and "Kab. Lebak" not in mine.split('id="weekly-pace"')[1].split("</section>")[0]
    assert _row(mine, "pace-areas", "Kota Serang")[1:] == ["20.000", "385", "2 (1%)"]
    assert _row(mine, "pace-coordinators", "Koor Kota")[1:] == ["5.200", "100", "2 (2%)"]
    assert not ENV_NAME.search(mine)


async def test_one_colour_per_stage_in_every_chart(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await add_staff(db, "Admin", "admin")
    for status in ("new", "contacted", "registered"):
        await add_lead(db, cipher, name=status, status=status)
    await add_lead(db, cipher, name="Lebak", kecamatan=MUNCANG, status="registered")
    await login(client, "Admin")
    page = (await client.get("/")).text
    colours: dict[str, set[str]] = {}
    for cls, title in re.findall(r'<rect class="(s\d)"[^>]*><title>([^<]*)</title>', page):
        stage = title.split(":")[0].split(" · ")[-1]
        colours.setdefault(stage, set()).add(cls)
    assert colours == {
        "Percakapan": {"s1"}, "Calon peserta": {"s2"}, "Dihubungi": {"s3"}, "Terdaftar": {"s4"},
    }  # fmt: skip
    legends = re.findall(r'<rect class="(s\d)" width="10" height="10"/></svg>([^<]+)</span>', page)
    assert {name: cls for cls, name in legends} == {
        "Percakapan": "s1", "Calon peserta": "s2", "Dihubungi": "s3", "Terdaftar": "s4",
    }  # fmt: skip


@pytest.mark.parametrize("role", ["admin", "staff", "coordinator"])
async def test_no_target_set_is_said_in_words(db, cipher, engine, role: str) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(BPU_DATABASE_URL=db.url, BPU_SECRET_KEY=TEST_SECRET)  # no target, no link settings
    await add_staff(db, "Orang", role, ("3673",) if role == "coordinator" else ())
    await add_lead(db, cipher, name="Siti", kecamatan=KASEMEN, status="registered")
    app = create_app(Runtime(settings, db, cipher, engine))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        await login(client, "Orang")
        page = (await client.get("/")).text
        assert "Target belum diatur." in page and not ENV_NAME.search(page)
        assert ("konfigurasi server" in page) == (role == "admin")  # where it is set: for the admin, in words
        if role != "coordinator":
            compose = (await client.get("/campaigns/new")).text
            assert not ENV_NAME.search(compose) and "nomor WhatsApp kantor belum diatur" in compose


async def test_a_kecamatan_target_has_its_own_pace(db, cipher, engine) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        BPU_DATABASE_URL=db.url, BPU_SECRET_KEY=TEST_SECRET, BPU_TARGETS_BY_REGION="3673=20000,367302=5200,360205=520"
    )
    await add_staff(db, "Admin", "admin")
    monday = targets.week_start(datetime.now(UTC), WIB)
    for kecamatan in (KASEMEN, KASEMEN, MUNCANG):
        await add_lead(db, cipher, kecamatan=kecamatan, status="registered", created_at=monday + timedelta(minutes=1))
    app = create_app(Runtime(settings, db, cipher, engine))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        await login(client, "Admin")
        page = (await client.get("/")).text
    assert _row(page, "pace-areas", "Kota Serang")[1:] == ["20.000", "385", "2 (1%)"]
    assert _row(page, "pace-areas", "Kasemen")[1:] == ["5.200", "100", "2 (2%)"]
    assert _row(page, "pace-areas", "Muncang")[1:] == ["520", "10", "1 (10%)"]  # its kabupaten has no target
    assert "Seluruh cabang" not in page  # no yearly target for the branch: no branch row
