"""Issue 16 item 8 through the dashboard: exports fit for the office, opened with openpyxl and
csv and checked cell by cell, on SQLite and PostgreSQL: times in WIB (real datetime cells in
XLSX), words instead of codes (Indonesian, English after switching), the coordinator, the last
contact and the last note, phones and NIKs as text, a bold frozen header with an autofilter and
fitted widths; CSV split by `;` with a BOM; a coordinator's export holds only their areas. The same
through the real `bpu-bot leads export` command (a separate process on the same database)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from storage.models import LeadEvent
from tests.dashboard.conftest import KASEMEN, KOTA_SERANG, MUNCANG, add_lead, add_staff, login
from tests.processes import run

HEADER_ID = [
    "ID", "Tanggal masuk (WIB)", "Status", "Nama", "NIK (disamarkan)", "Tanggal lahir", "HP", "Kabupaten/kota",
    "Kecamatan", "Pekerjaan", "Penghasilan (Rp/bulan)", "Program", "Lanjut lewat", "Kanal", "Kampanye",
    "Koordinator", "Kontak terakhir (WIB)", "Catatan terakhir",
]  # fmt: skip
NOTE = "Ditelepon: minta dikunjungi Senin pagi"


async def _world(db, cipher) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Siti (Kota Serang, Koor Rina's, contacted, a note, then a reassignment) and Dedi (Lebak, nobody's)."""
    await add_staff(db, "Admin Kantor", "admin")
    rina = await add_staff(db, "Koor Rina", "coordinator", (KOTA_SERANG,))
    siti = await add_lead(
        db, cipher, name="Siti Aminah", kecamatan=KASEMEN, status="contacted", assigned=rina,
        phone="+6281234567890", campaign="pasar-rau", created_at=datetime(2026, 11, 30, 18, 5, tzinfo=UTC),
    )  # fmt: skip
    dedi = await add_lead(
        db, cipher, name="Dedi", kecamatan=MUNCANG, phone="+6285700011122", occupation="farmer",
        created_at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
    )  # fmt: skip
    async with db.session() as session:
        session.add_all(
            [
                LeadEvent(lead_id=siti, staff_id=rina, status="contacted", note=NOTE,
                          created_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC)),  # 09:00 WIB
                LeadEvent(lead_id=siti, staff_id=rina, note="[reassign] — → Koor Rina",
                          created_at=datetime(2026, 12, 1, 3, 0, tzinfo=UTC)),  # bookkeeping, not a contact
            ]
        )  # fmt: skip
    return {"siti": siti, "dedi": dedi, "rina": rina}


def check_xlsx(content: bytes, world: dict[str, int]) -> None:
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet.title == "Calon peserta"
    header = [c.value for c in sheet[1]]
    assert header == HEADER_ID
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(HEADER_ID))}3"
    for index in range(1, len(HEADER_ID) + 1):
        assert sheet.column_dimensions[get_column_letter(index)].width > 8.43, HEADER_ID[index - 1]
    col = {title: index for index, title in enumerate(header)}
    rows = {row[col["Nama"]].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(rows) == {"Siti Aminah", "Dedi"}

    siti = rows["Siti Aminah"]
    assert siti[col["ID"]].value == world["siti"] and siti[col["ID"]].data_type == "n"
    created = siti[col["Tanggal masuk (WIB)"]]
    # Excel has no zones: the cell holds the branch's wall-clock time, 18:05 UTC the day before
    assert created.is_date and created.value == datetime(2026, 12, 1, 1, 5)  # noqa: DTZ001
    assert created.number_format == "dd-mm-yyyy hh:mm"
    born = siti[col["Tanggal lahir"]]
    assert born.is_date and born.value.date() == date(1990, 8, 15) and born.number_format == "dd-mm-yyyy"
    phone = siti[col["HP"]]
    assert phone.value == "+6281234567890" and phone.data_type == "s" and phone.number_format == "@"
    nik = siti[col["NIK (disamarkan)"]]
    assert nik.data_type == "s" and nik.value.startswith("3673") and "*" in nik.value
    income = siti[col["Penghasilan (Rp/bulan)"]]
    assert income.value == 2_000_000 and income.data_type == "n" and income.number_format == "#,##0"
    assert siti[col["Status"]].value == "Dihubungi"
    assert siti[col["Pekerjaan"]].value == "Pedagang (keliling / warung / pasar)"
    assert siti[col["Program"]].value == "2 program (JKK, JKM)"
    assert siti[col["Lanjut lewat"]].value == "Dikunjungi"
    assert siti[col["Kanal"]].value == "Telegram"
    assert siti[col["Kampanye"]].value == "pasar-rau"
    assert (siti[col["Kabupaten/kota"]].value, siti[col["Kecamatan"]].value) == ("Kota Serang", "Kasemen")
    assert siti[col["Koordinator"]].value == "Koor Rina"
    contact = siti[col["Kontak terakhir (WIB)"]]
    # 02:00 UTC is 09:00 WIB; the reassignment an hour later is bookkeeping, not a contact
    assert contact.is_date and contact.value == datetime(2026, 12, 1, 9, 0)  # noqa: DTZ001
    assert siti[col["Catatan terakhir"]].value == NOTE

    dedi = rows["Dedi"]
    assert dedi[col["Status"]].value == "Baru" and dedi[col["Pekerjaan"]].value.startswith("Petani")
    assert dedi[col["HP"]].value == "+6285700011122" and dedi[col["HP"]].data_type == "s"
    for empty in ("Kampanye", "Koordinator", "Kontak terakhir (WIB)", "Catatan terakhir"):
        assert dedi[col[empty]].value is None, empty
    # the note is the widest cell of its column, and the width follows it
    assert sheet.column_dimensions[get_column_letter(col["Catatan terakhir"] + 1)].width >= len(NOTE)


async def test_xlsx_cell_by_cell(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    world = await _world(db, cipher)
    await login(client, "Admin Kantor")
    response = await client.get("/leads/export.xlsx?sort=oldest")
    assert response.status_code == 200
    check_xlsx(response.content, world)


async def test_csv_split_by_semicolon_with_a_bom(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await _world(db, cipher)
    await login(client, "Admin Kantor")
    response = await client.get("/leads/export.csv?sort=oldest")
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == ";".join(HEADER_ID)
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [r["Nama"] for r in rows] == ["Siti Aminah", "Dedi"]
    siti = rows[0]
    assert siti["Tanggal masuk (WIB)"] == "2026-12-01 01:05"
    assert siti["Tanggal lahir"] == "1990-08-15"
    assert siti["HP"] == "0812-3456-7890"  # Excel keeps it text: the 0 stays, no 8.1E+11
    assert siti["Penghasilan (Rp/bulan)"] == "2000000"
    assert (siti["Status"], siti["Lanjut lewat"], siti["Program"]) == (
        "Dihubungi",
        "Dikunjungi",
        "2 program (JKK, JKM)",
    )
    assert (siti["Koordinator"], siti["Kontak terakhir (WIB)"], siti["Catatan terakhir"]) == (
        "Koor Rina", "2026-12-01 09:00", NOTE,
    )  # fmt: skip
    assert rows[1]["HP"] == "0857-0001-1122" and rows[1]["Koordinator"] == "" and rows[1]["Kontak terakhir (WIB)"] == ""


async def test_english_after_switching(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await _world(db, cipher)
    await login(client, "Admin Kantor")
    await client.get("/lang?to=en")
    rows = list(csv.DictReader(io.StringIO((await client.get("/leads/export.csv?sort=oldest")).text.lstrip("\ufeff")),
                               delimiter=";"))  # fmt: skip
    siti = rows[0]
    assert siti["Received (WIB)"] == "2026-12-01 01:05" and siti["Name"] == "Siti Aminah"
    assert (siti["Status"], siti["Continue by"], siti["Programmes"]) == (
        "Contacted",
        "Visit",
        "2 programmes (JKK, JKM)",
    )
    assert siti["Occupation"] == "Trader (street / stall / market)" and siti["Coordinator"] == "Koor Rina"
    sheet = load_workbook(io.BytesIO((await client.get("/leads/export.xlsx")).content)).active
    assert sheet.title == "Leads" and sheet["C1"].value == "Status" and sheet["Q1"].value == "Last contact (WIB)"


async def test_a_coordinators_export_holds_only_their_areas(client: httpx.AsyncClient, db, cipher) -> None:  # type: ignore[no-untyped-def]
    await _world(db, cipher)
    await login(client, "Koor Rina")
    rows = list(csv.DictReader(io.StringIO((await client.get("/leads/export.csv")).text.lstrip("\ufeff")),
                               delimiter=";"))  # fmt: skip
    assert [r["Nama"] for r in rows] == ["Siti Aminah"]
    sheet = load_workbook(io.BytesIO((await client.get(f"/leads/export.xlsx?area={MUNCANG}")).content)).active
    assert sheet.max_row == 1 and sheet.auto_filter.ref == f"A1:{get_column_letter(len(HEADER_ID))}1"


async def test_the_cli_writes_the_same_files(tmp_path: Path, db_url: str, db, cipher) -> None:  # type: ignore[no-untyped-def]
    world = await _world(db, cipher)

    def export(*args: str) -> str:
        out = run(["leads", "export", *args], tmp_path, BPU_DATABASE_URL=db_url, BPU_SECRET_KEY="k")
        assert out.returncode == 0, out.stderr
        return out.stdout

    await asyncio.to_thread(export, "--format", "xlsx", "-o", "leads.xlsx")
    check_xlsx((tmp_path / "leads.xlsx").read_bytes(), world)

    stdout = await asyncio.to_thread(export)  # CSV to stdout: BOM, `;`, Indonesian
    assert stdout.startswith("\ufeff") and stdout.splitlines()[0].lstrip("\ufeff") == ";".join(HEADER_ID)
    rows = list(csv.DictReader(io.StringIO(stdout.lstrip("\ufeff")), delimiter=";"))
    assert [(r["Nama"], r["HP"], r["Status"]) for r in rows] == [
        ("Siti Aminah", "0812-3456-7890", "Dihubungi"), ("Dedi", "0857-0001-1122", "Baru"),
    ]  # fmt: skip
    assert rows[0]["Kontak terakhir (WIB)"] == "2026-12-01 09:00" and rows[0]["Catatan terakhir"] == NOTE

    await asyncio.to_thread(export, "--separator", ",", "--lang", "en", "--area", KOTA_SERANG, "-o", "en.csv")
    raw = (tmp_path / "en.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["Name"], r["Status"], r["Coordinator"], r["Received (WIB)"]) for r in rows] == [
        ("Siti Aminah", "Contacted", "Koor Rina", "2026-12-01 01:05"),
    ]

    bad = await asyncio.to_thread(run, ["leads", "export", "--separator", "|"], tmp_path, BPU_DATABASE_URL=db_url)
    assert bad.returncode == 2 and "--separator" in bad.stderr
