"""Who said they will come: a campaign's RSVP attendee list, to print, to export, to remind.

The list is everyone whose last answer to the broadcast's RSVP buttons was "Hadir": the name
from their lead (else the name their chat shows), the phone if known (the lead's, else the one
they shared, else their WhatsApp number), the area (the lead's kecamatan, else their own region)
and when they answered, in the branch's time. The page prints on one sheet per 40 or so rows
(the navigation and buttons are hidden on paper); the CSV and XLSX are office-ready as the leads
export is (bot/exports.py: `;` and a BOM, phones as text, a bold frozen header). A reminder to
them is a broadcast to the segment `rsvp=<id>:yes` (the compose page, prefilled).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from bot.channels import registry
from bot.dashboard.i18n import translate
from bot.dashboard.web import OFFICE, Ctx, Dashboard
from bot.exports import national_phone
from bot.offload import run_blocking
from content import regions
from storage import repositories as repo
from storage.campaign_models import Broadcast, RsvpAnswer
from storage.clock import as_utc
from storage.models import Contact, Lead

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = ("no", "name", "phone", "kabkota", "kecamatan", "channel", "answered_at")


@dataclass(slots=True)
class Attendee:
    name: str
    phone: str | None  # E.164
    area_code: str | None
    channel: str
    answered_at: datetime
    lead_id: int | None


async def attendees(session: AsyncSession, broadcast_id: int) -> list[Attendee]:
    """Those whose answer to the broadcast is "yes", by name."""
    rows = (
        await session.execute(
            select(RsvpAnswer.answered_at, Contact)
            .join(Contact, Contact.id == RsvpAnswer.contact_id)
            .where(RsvpAnswer.broadcast_id == broadcast_id, RsvpAnswer.answer == "yes")
        )
    ).all()
    ids = [contact.id for _, contact in rows]
    leads: dict[int, Lead] = {}
    for i in range(0, len(ids), 500):
        for found in (
            await session.scalars(select(Lead).where(Lead.contact_id.in_(ids[i : i + 500])).order_by(Lead.id))
        ).all():
            if found.contact_id is not None:
                leads[found.contact_id] = found  # the latest lead wins
    out = []
    for answered_at, contact in rows:
        lead = leads.get(contact.id)
        phone = (lead.phone_e164 if lead else None) or contact.phone_e164
        if not phone and (read := registry.user_phones().get(contact.channel)) is not None:
            phone = read(contact.external_id)
        out.append(
            Attendee(
                name=(lead.full_name if lead else None) or contact.display_name or "",
                phone=phone,
                area_code=(lead.kecamatan_code if lead else None) or contact.region_code,
                channel=contact.channel,
                answered_at=as_utc(answered_at),
                lead_id=lead.id if lead else None,
            )
        )
    out.sort(key=lambda a: (a.name.casefold() or "\uffff", a.answered_at))
    return out


def _kabkota(code: str | None) -> str:
    region = regions.get(code[:4]) if code else None
    return region.name if region else ""


def _kecamatan(code: str | None) -> str:
    region = regions.get(code) if code and len(code) == 6 else None
    return region.name if region else ""


def table(people: list[Attendee], lang: str, zone: tzinfo) -> tuple[list[str], list[list[object]]]:
    header = [translate(lang, f"att_{c}") for c in COLUMNS]
    rows: list[list[object]] = [
        [
            i,
            a.name,
            a.phone,
            _kabkota(a.area_code),
            _kecamatan(a.area_code),
            translate(lang, f"channel_{a.channel}"),
            a.answered_at.astimezone(zone).replace(tzinfo=None),
        ]
        for i, a in enumerate(people, start=1)
    ]
    return header, rows


def to_csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    for row in rows:
        cells = list(row)
        cells[2] = national_phone(str(cells[2])) if cells[2] else ""
        cells[6] = cells[6].strftime("%Y-%m-%d %H:%M") if isinstance(cells[6], datetime) else cells[6]
        writer.writerow(cells)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(header: list[str], rows: list[list[object]], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for r in range(2, len(rows) + 2):
        sheet.cell(r, 3).number_format = "@"  # the phone stays text
        sheet.cell(r, 7).number_format = "dd-mm-yyyy hh:mm"
    for index, title_text in enumerate(header, start=1):
        shown = [len(title_text)] + [len(str(row[index - 1] or "")) for row in rows[:200]]
        width = 18 if index == 7 else max(shown) + 2
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 6), 50)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    async def load(ctx: Ctx) -> tuple[Broadcast, list[Attendee]] | None:
        broadcast_id = int(ctx.request.path_params["broadcast_id"])
        async with dash.runtime.db.session() as session:
            b = await session.get(Broadcast, broadcast_id)
            if b is None:
                return None
            return b, await attendees(session, broadcast_id)

    async def page(ctx: Ctx) -> Response:
        found = await load(ctx)
        if found is None:
            return ctx.error(404, "not_found")
        b, people = found
        return ctx.render(
            "campaign_attendees.html",
            b=b,
            people=people,
            kabkota=_kabkota,
            kecamatan=_kecamatan,
            printed=datetime.now(UTC),
        )

    async def export(ctx: Ctx) -> Response:
        fmt = ctx.request.path_params["fmt"]
        if fmt not in _MEDIA:
            return ctx.error(404, "not_found")
        found = await load(ctx)
        if found is None:
            return ctx.error(404, "not_found")
        b, people = found
        header, rows = table(people, ctx.lang, dash.tz)
        if fmt == "xlsx":
            body = await run_blocking(to_xlsx, header, rows, ctx.t("attendees"))
        else:
            body = to_csv(header, rows)
        async with dash.runtime.db.session() as session:
            await repo.audit(session, ctx.actor, "attendees_export", broadcast_id=b.id, format=fmt, rows=len(rows))
        name = f"hadir-kampanye-{b.id}.{fmt}"
        return Response(body, media_type=_MEDIA[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return [
        dash.route("/campaigns/{broadcast_id:int}/attendees", page, roles=OFFICE),
        dash.route("/campaigns/{broadcast_id:int}/attendees.{fmt:str}", export, roles=OFFICE),
    ]
