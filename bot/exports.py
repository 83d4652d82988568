"""Lead exports for the office: XLSX (typed cells) and CSV (for Indonesian-locale Excel), NIK always masked.

What a coordinator opens in Excel (issue 16, item 8):

- times in the branch's zone (BPU_TIMEZONE), the zone named in the column header ("Tanggal masuk
  (WIB)"); in XLSX they are real date and datetime cells (sortable, filterable) with a day-first
  number format, in CSV "2026-12-01 23:30", which Excel reads as a date in every locale;
- statuses, occupations, programmes, continue-via and channels in words, Indonesian by default,
  English for an English export (bot/dashboard/locales/<lang>.yaml, keys col_*, status_*,
  via_*, programmes_*, channel_*: staff's words, beside the dashboard's; the chat's words in
  content/templates/<lang>/labels.yaml are what a worker reads, e.g. "baru, menunggu dihubungi");
- the assigned coordinator's name, the last contact (the latest event on the lead by anyone but
  the reassignment bookkeeping: a status change, a note, the field entry) and the last note;
- phones and masked NIKs as text, never numbers: in XLSX text cells ("@"), "+6281234567890"
  kept whole; in CSV the phone is written the Indonesian way, "0812-3456-7890", which Excel
  cannot take for a number or a formula (a bare "+62..." or "0812..." would lose its + or 0);
- XLSX: a bold header row, frozen, with an autofilter, and column widths fitted to the header
  and the first rows;
- CSV: UTF-8 with a BOM and `;` between fields by default: Excel in an Indonesian locale (whose
  decimal mark is the comma) splits on `;` when the file is opened with a double click; `,` on
  request (`bpu-bot leads export --separator ,`) for other tools.

Rows are streamed from the database and written a batch at a time (openpyxl's write-only mode),
so an export of 100,000 leads never holds them all in memory; each batch's coordinators and
events are read in one query. The writing, and the XLSX's final compression, run on
bot.offload's threads: an export of many leads takes seconds of CPU that the event loop needs
for the bot's replies.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import IO, Any

import phonenumbers
from sqlalchemy import select

from bot.dashboard.i18n import translate
from bot.offload import run_blocking
from content import regions
from handlers import occupations
from storage import repositories as repo
from storage.clock import as_utc
from storage.db import Database
from storage.models import Lead, LeadEvent, Staff

# (key, kind): the header is the locale's col_<key>; the kind decides the cell's type.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "int"),
    ("created_at", "datetime"),
    ("status", "text"),
    ("full_name", "text"),
    ("nik_masked", "code"),
    ("birth_date", "date"),
    ("phone", "phone"),
    ("kabkota", "text"),
    ("kecamatan", "text"),
    ("occupation", "text"),
    ("income", "money"),
    ("programmes", "text"),
    ("continue_via", "text"),
    ("channel", "text"),
    ("campaign", "text"),
    ("coordinator", "text"),
    ("last_contact", "datetime"),
    ("last_note", "text"),
)
SEPARATORS = (";", ",")
LANGUAGES = ("id", "en")
DATETIME_FORMAT = "dd-mm-yyyy hh:mm"  # as the dashboard shows them: 01-12-2026 23:30
DATE_FORMAT = "dd-mm-yyyy"
MONEY_FORMAT = "#,##0"  # Excel shows its locale's grouping: 1.500.000 in Indonesian
CSV_DATETIME = "%Y-%m-%d %H:%M"
REASSIGNED = "[reassign]"  # storage/assignment.move's note: bookkeeping, not a contact
_FREE_TEXT = ("full_name", "campaign", "coordinator", "last_note")


def headers(lang: str, zone: tzinfo) -> list[str]:
    """The header row: "Tanggal masuk (WIB)" for a time column, the zone's abbreviation today."""
    abbreviation = datetime.now(zone).strftime("%Z")
    return [
        translate(lang, f"col_{key}") + (f" ({abbreviation})" if kind == "datetime" else "") for key, kind in COLUMNS
    ]


@dataclass(frozen=True, slots=True)
class Details:
    """What a row shows beyond the lead itself."""

    coordinator: str = ""
    last_contact: datetime | None = None
    last_note: str = ""


def row_of(lead: Lead, zone: tzinfo, lang: str = "id", details: Details | None = None) -> list[Any]:
    """One lead's cells, typed: ints, local naive datetimes and dates, text (the writers format them)."""
    details = details or Details()
    kabkota = regions.get(lead.kabkota_code)
    kecamatan = regions.get(lead.kecamatan_code)
    values: dict[str, Any] = {
        "id": lead.id,
        "created_at": _local(lead.created_at, zone),
        "status": _word(lang, "status_", lead.status),
        "full_name": lead.full_name,
        "nik_masked": lead.nik_masked,
        "birth_date": lead.birth_date,
        "phone": lead.phone_e164,
        "kabkota": kabkota.name if kabkota else lead.kabkota_code,
        "kecamatan": kecamatan.name if kecamatan else lead.kecamatan_code,
        "occupation": occupations.label(lead.occupation, lang) or lead.occupation,
        "income": lead.declared_income,
        "programmes": _word(lang, "programmes_", str(lead.programmes)),
        "continue_via": _word(lang, "via_", lead.continue_via),
        "channel": _word(lang, "channel_", lead.channel),
        "campaign": lead.campaign_code or "",
        "coordinator": details.coordinator,
        "last_contact": _local(details.last_contact, zone),
        "last_note": details.last_note,
    }
    for key in _FREE_TEXT:
        values[key] = _safe_cell(values[key])
    return [values[key] for key, _ in COLUMNS]


def _word(lang: str, prefix: str, value: str) -> str:
    """A stored code in words ("registered" -> "Terdaftar"); an unknown code as it is."""
    key = prefix + value
    text = translate(lang, key)
    return value if text == key else text


def _local(value: datetime | None, zone: tzinfo) -> datetime | None:
    """A stored instant as the branch's wall-clock time, without a zone (Excel has none)."""
    return None if value is None else as_utc(value).astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def _safe_cell(value: Any) -> Any:
    # A name like "=HYPERLINK(...)" must stay text in Excel (CSV/formula injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def stream_leads(
    db: Database, *, area: str | None, status: str | None, areas: Sequence[str] | None = None
) -> AsyncIterator[Lead]:
    """The leads of an area and status, oldest first; `areas` is a coordinator's scope (in SQL)."""
    async with db.session() as session:
        result = await session.stream_scalars(
            repo.leads_query(area=area, status=status, areas=areas).execution_options(yield_per=500)
        )
        async for lead in result:
            yield lead


BATCH = 500  # rows handed to a thread at once: few hand-offs, little memory


async def _details(db: Database, leads: list[Lead], names: dict[int, str]) -> dict[int, Details]:
    """Each lead's coordinator, last contact and last note: one query for the batch."""
    last_contact: dict[int, datetime] = {}
    last_note: dict[int, str] = {}
    async with db.session() as session:
        events = await session.execute(
            select(LeadEvent.lead_id, LeadEvent.created_at, LeadEvent.note)
            .where(LeadEvent.lead_id.in_([lead.id for lead in leads]))
            .order_by(LeadEvent.lead_id, LeadEvent.created_at, LeadEvent.id)
        )
        for lead_id, created_at, note in events:
            if note and note.startswith(REASSIGNED):
                continue
            last_contact[lead_id] = created_at
            if note:
                last_note[lead_id] = note
    return {
        lead.id: Details(
            coordinator=names.get(lead.assigned_staff_id, "") if lead.assigned_staff_id else "",
            last_contact=last_contact.get(lead.id),
            last_note=last_note.get(lead.id, ""),
        )
        for lead in leads
    }


async def _batches(leads: AsyncIterator[Lead], db: Database, zone: tzinfo, lang: str) -> AsyncIterator[list[list[Any]]]:
    async with db.session() as session:
        names = {row.id: row.name for row in await session.execute(select(Staff.id, Staff.name))}
    batch: list[Lead] = []

    async def rows() -> list[list[Any]]:
        details = await _details(db, batch, names)
        return [row_of(lead, zone, lang, details[lead.id]) for lead in batch]

    async for lead in leads:
        batch.append(lead)
        if len(batch) >= BATCH:
            yield await rows()
            batch = []
    if batch:
        yield await rows()


def _csv_cell(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "datetime":
        return value.strftime(CSV_DATETIME)
    if kind == "date":
        return value.isoformat()
    if kind == "phone":
        return national_phone(value)
    return value


def national_phone(e164: str) -> str:
    """ "+6281234567890" -> "0812-3456-7890": text to Excel, and how the office dials it."""
    try:
        number = phonenumbers.parse(e164, "ID")
    except phonenumbers.NumberParseException:
        return _safe_cell(e164)
    if number.country_code != 62:
        return _safe_cell(e164)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _csv_rows(writer: Any, rows: list[list[Any]]) -> None:
    kinds = [kind for _, kind in COLUMNS]
    writer.writerows([_csv_cell(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in rows)


async def write_csv(
    leads: AsyncIterator[Lead], out: IO[str], *, db: Database, zone: tzinfo, lang: str = "id", separator: str = ";"
) -> int:
    """The leads as CSV into `out` (opened by the caller with encoding="utf-8-sig", newline="")."""
    writer = csv.writer(out, delimiter=separator)
    writer.writerow(headers(lang, zone))
    count = 0
    async for batch in _batches(leads, db, zone, lang):
        await run_blocking(_csv_rows, writer, batch)
        count += len(batch)
    return count


class _Sheet:
    """A write-only sheet whose widths come from the header and the first batch of rows."""

    MIN_WIDTH, MAX_WIDTH = 9, 50  # Excel's default is 8.43

    def __init__(self, book: Any, lang: str, zone: tzinfo) -> None:
        from openpyxl.styles import Font

        self.sheet = book.create_sheet(translate(lang, "leads"))
        self.header = headers(lang, zone)
        self.bold = Font(bold=True)
        self.rows = 0
        self.started = False

    def cell(self, value: Any, kind: str) -> Any:
        from openpyxl.cell import WriteOnlyCell

        if value is None or value == "":
            return None  # an empty cell, not an empty string
        if kind in ("int", "text"):
            return value
        cell = WriteOnlyCell(self.sheet, value=value)
        cell.number_format = {"datetime": DATETIME_FORMAT, "date": DATE_FORMAT, "money": MONEY_FORMAT}.get(kind, "@")
        return cell

    def start(self, sample: list[list[Any]]) -> None:
        """Widths, the frozen header and the header row: all before the first row is written."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils import get_column_letter

        for index, (title, (_, kind)) in enumerate(zip(self.header, COLUMNS, strict=True), start=1):
            shown = [len(title)] + [_shown_length(row[index - 1], kind) for row in sample]
            width = min(max(max(shown) + 2, self.MIN_WIDTH), self.MAX_WIDTH)
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.sheet.freeze_panes = "A2"
        header = []
        for title in self.header:
            cell = WriteOnlyCell(self.sheet, value=title)
            cell.font = self.bold
            header.append(cell)
        self.sheet.append(header)
        self.started = True

    def append(self, rows: list[list[Any]]) -> None:
        if not self.started:
            self.start(rows)
        kinds = [kind for _, kind in COLUMNS]
        for row in rows:
            self.sheet.append([self.cell(value, kind) for value, kind in zip(row, kinds, strict=True)])
        self.rows += len(rows)

    def finish(self) -> None:
        from openpyxl.utils import get_column_letter

        if not self.started:
            self.start([])
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{self.rows + 1}"


def _shown_length(value: Any, kind: str) -> int:
    if value is None:
        return 0
    if kind == "datetime":
        return len("01-12-2026 23:30")
    if kind == "date":
        return len("17-08-1985")
    if kind == "money":
        return len(f"{value:,}")
    return max((len(line) for line in str(value).splitlines()), default=0)


async def write_xlsx(leads: AsyncIterator[Lead], path: str, *, db: Database, zone: tzinfo, lang: str = "id") -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = _Sheet(book, lang, zone)
    async for batch in _batches(leads, db, zone, lang):
        await run_blocking(sheet.append, batch)
    sheet.finish()
    await run_blocking(book.save, path)
    return sheet.rows
