"""Lead exports: CSV (UTF-8 with BOM, so Excel opens it) and XLSX, NIK always masked.

Rows are streamed from the database and written a batch at a time (openpyxl's write-only
mode), so an export of 100,000 leads never holds them all in memory. The writing, and the
XLSX's final compression, run on bot.offload's threads: an export of many leads takes
seconds of CPU that the event loop needs for the bot's replies.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Sequence
from datetime import tzinfo
from typing import IO, Any

from bot.local_time import show_local
from bot.offload import run_blocking
from content import regions
from handlers import occupations
from storage import repositories as repo
from storage.db import Database
from storage.models import Lead

COLUMNS = (
    ("id", "ID"),
    ("created_at", "Tanggal masuk"),
    ("status", "Status"),
    ("full_name", "Nama"),
    ("nik_masked", "NIK (disamarkan)"),
    ("birth_date", "Tanggal lahir"),
    ("phone_e164", "HP"),
    ("kabkota", "Kabupaten/kota"),
    ("kecamatan", "Kecamatan"),
    ("occupation", "Pekerjaan"),
    ("declared_income", "Penghasilan"),
    ("programmes", "Program"),
    ("continue_via", "Lanjut"),
    ("channel", "Kanal"),
    ("campaign_code", "Kampanye"),
)


def row_of(lead: Lead, zone: tzinfo) -> list[Any]:
    """One lead's cells; its times in `zone` (BPU_TIMEZONE), e.g. "2026-12-01 23:30 WIB"."""
    kabkota = regions.get(lead.kabkota_code)
    kecamatan = regions.get(lead.kecamatan_code)
    values = {
        "id": lead.id,
        "created_at": show_local(lead.created_at, zone),
        "status": lead.status,
        "full_name": lead.full_name,
        "nik_masked": lead.nik_masked,
        "birth_date": lead.birth_date.isoformat(),
        "phone_e164": lead.phone_e164,
        "kabkota": kabkota.name if kabkota else lead.kabkota_code,
        "kecamatan": kecamatan.name if kecamatan else lead.kecamatan_code,
        "occupation": occupations.label(lead.occupation, "id") or lead.occupation,
        "declared_income": lead.declared_income,
        "programmes": lead.programmes,
        "continue_via": lead.continue_via,
        "channel": lead.channel,
        "campaign_code": lead.campaign_code or "",
    }
    for key in _FREE_TEXT:
        values[key] = _safe_cell(values[key])
    return [values[key] for key, _ in COLUMNS]


_FREE_TEXT = ("full_name", "campaign_code")


def _safe_cell(value: Any) -> Any:
    # A name like "=HYPERLINK(...)" must stay text in Excel (CSV/formula injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def stream_leads(
    db: Database, *, area: str | None, status: str | None, areas: Sequence[str] | None = None
) -> AsyncIterator[Lead]:
    async with db.session() as session:
        result = await session.stream_scalars(
            repo.leads_query(area=area, status=status, areas=areas).execution_options(yield_per=500)
        )
        async for lead in result:
            yield lead


BATCH = 500  # rows handed to a thread at once: few hand-offs, little memory


async def _batches(leads: AsyncIterator[Lead], zone: tzinfo) -> AsyncIterator[list[list[Any]]]:
    batch: list[list[Any]] = []
    async for lead in leads:
        batch.append(row_of(lead, zone))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def write_csv(leads: AsyncIterator[Lead], out: IO[str], *, zone: tzinfo) -> int:
    writer = csv.writer(out)
    writer.writerow([title for _, title in COLUMNS])
    count = 0
    async for batch in _batches(leads, zone):
        await run_blocking(writer.writerows, batch)
        count += len(batch)
    return count


def _append_all(sheet: Any, rows: list[list[Any]]) -> None:
    for row in rows:
        sheet.append(row)


async def write_xlsx(leads: AsyncIterator[Lead], path: str, *, zone: tzinfo) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Leads")
    sheet.append([title for _, title in COLUMNS])
    count = 0
    async for batch in _batches(leads, zone):
        await run_blocking(_append_all, sheet, batch)
        count += len(batch)
    await run_blocking(book.save, path)
    return count
