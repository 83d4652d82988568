"""Leads: filter, search, sort, page; status changes, reassignment, NIK reveal, exports; the open
callback requests on top (their page, reply and close: handover.py)."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from bot import exports
from bot.dashboard import queries
from bot.dashboard.web import OFFICE, STATUSES, Ctx, Dashboard
from handlers import lead_quality
from handlers.validators import indonesian_digits
from storage import assignment, scope
from storage import repositories as repo
from storage.models import Lead, LeadEvent, Staff

MAX_NOTE = 2000
BULK_MAX = 500  # leads ticked at once (a page shows fewer)
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _count(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _lead_id(ctx: Ctx) -> int | None:
    try:
        return int(ctx.request.path_params["lead_id"])
    except (KeyError, ValueError):
        return None


def routes(dash: Dashboard) -> list:  # type: ignore[type-arg]
    dash.env.filters["wa"] = whatsapp_digits

    def viewer(ctx: Ctx) -> queries.Viewer:
        return queries.Viewer(
            staff_id=ctx.staff.id if ctx.staff else None,
            followup_hours=dash.runtime.settings.followup_hours,
            cipher=dash.runtime.cipher,
            tz=dash.tz,
        )

    async def lead_list(ctx: Ctx) -> Response:
        params = ctx.request.query_params
        flt = queries.LeadFilter.from_params(params)
        after = params.get("after") or None
        try:
            page = max(int(params.get("page", "1")), 1)
        except ValueError:
            page = 1
        seen = viewer(ctx)
        async with dash.runtime.db.session() as session:
            await lead_quality.backfill(session, dash.runtime.cipher)  # leads saved before the checks
            leads: list[Lead]
            if flt.view == "callbacks":
                leads, total, next_cursor = [], 0, None
            else:
                leads, total, next_cursor = await queries.lead_page(session, flt, ctx.areas, dash.tz, after, seen, page)
            callbacks = await queries.open_callbacks(session, ctx.areas)
            names = await queries.staff_names(session)
            coordinators = await queries.coordinators(session) if ctx.staff and ctx.staff.role in OFFICE else []
            shared = await lead_quality.duplicates(session, leads)
        today = seen.today()
        return ctx.render(
            "leads.html",
            coordinators=coordinators,
            moved=_count(params.get("moved")),
            outside=_count(params.get("outside")),
            marked=_count(params.get("marked")),
            flt=flt,
            leads=leads,
            flags={lead.id: lead_quality.flags(lead, today, lead.id in shared) for lead in leads},
            total=total,
            page=page,
            pages=queries.page_numbers(page, total),
            next_cursor=next_cursor,
            callbacks=callbacks,
            names=names,
            area_choices=_area_choices(ctx),
            views=_views(ctx),
        )

    async def lead_detail(ctx: Ctx, *, revealed: str | None = None, message: str | None = None) -> Response:
        lead_id = _lead_id(ctx)
        async with dash.runtime.db.session() as session:
            lead = await queries.visible_lead(session, lead_id or 0, ctx.areas)
            if lead is None:
                return ctx.error(404, "not_found")
            events = list(
                (
                    await session.scalars(
                        select(LeadEvent)
                        .where(LeadEvent.lead_id == lead.id)
                        .order_by(LeadEvent.created_at, LeadEvent.id)
                    )
                ).all()
            )
            names = await queries.staff_names(session)
            coordinators = await queries.coordinators(session) if ctx.staff and ctx.staff.role in OFFICE else []
            coordinators = [c for c in coordinators if works_in(c, lead)]
            if lead.nik_checks is None:
                lead_quality.fill(lead, dash.runtime.cipher.decrypt(lead.nik_encrypted), dash.runtime.cipher)
            flags = lead_quality.flags(lead, dash.today(), bool(await lead_quality.duplicates(session, [lead])))
        return ctx.render(
            "lead.html",
            lead=lead,
            flags=flags,
            events=events,
            names=names,
            coordinators=coordinators,
            revealed=revealed,
            message=message,
        )

    async def change_status(ctx: Ctx) -> Response:
        status = ctx.field("status")
        note = ctx.field("note")[:MAX_NOTE]
        if status not in STATUSES[1:] and not note:
            return ctx.error(400, "error_field")
        async with dash.runtime.db.session() as session:
            lead = await queries.visible_lead(session, _lead_id(ctx) or 0, ctx.areas)
            if lead is None:
                return ctx.error(404, "not_found")
            new_status = status if status in STATUSES[1:] else None
            if new_status:
                lead.status = new_status
            session.add(LeadEvent(lead_id=lead.id, staff_id=ctx.me.id, status=new_status, note=note or None))
            await repo.audit(session, ctx.actor, "lead_status", lead_id=lead.id, status=new_status, note=bool(note))
        return ctx.redirect(f"/leads/{lead.id}")

    async def _target(session: AsyncSession, ctx: Ctx) -> Staff | None:
        """The coordinator chosen in the form (None: unassigned); ValueError when not one."""
        target_id = int(ctx.field("staff_id") or 0) or None
        if target_id is None:
            return None
        target = await session.get(Staff, target_id)
        if target is None or not target.active or target.role != "coordinator":
            raise ValueError(target_id)
        return target

    async def reassign(ctx: Ctx) -> Response:
        async with dash.runtime.db.session() as session:
            lead = await queries.visible_lead(session, _lead_id(ctx) or 0, ctx.areas)
            if lead is None:
                return ctx.error(404, "not_found")
            try:
                target = await _target(session, ctx)
            except ValueError:
                return ctx.error(400, "error_field")
            if target is not None and not works_in(target, lead):
                return ctx.error(400, "outside_their_area")
            before = lead.assigned_staff_id
            await assignment.move(session, lead, target, ctx.me.id)
            after = target.id if target else None
            await repo.audit(session, ctx.actor, "lead_reassigned", lead_id=lead.id, before=before, after=after)
        return ctx.redirect(f"/leads/{lead.id}")

    async def reassign_many(ctx: Ctx) -> Response:
        """The leads ticked in the list to one coordinator (or unassigned); those outside the
        coordinator's areas are left as they are and counted."""
        assert ctx.form is not None
        ids = sorted({int(v) for v in ctx.form.getlist("lead") if isinstance(v, str) and v.isdigit()})[:BULK_MAX]
        back = queries.LeadFilter.from_params(dict(parse_qsl(ctx.field("back"))))
        async with dash.runtime.db.session() as session:
            try:
                target = await _target(session, ctx)
            except ValueError:
                return ctx.error(400, "error_field")
            moved, outside = [], 0
            for lead in (await session.scalars(select(Lead).where(Lead.id.in_(ids), scope.leads_in(ctx.areas)))).all():
                if target is not None and not works_in(target, lead):
                    outside += 1
                elif lead.assigned_staff_id != (target.id if target else None):
                    await assignment.move(session, lead, target, ctx.me.id)
                    moved.append(lead.id)
            if moved:
                await repo.audit(session, ctx.actor, "leads_reassigned", lead_ids=moved,
                                 after=target.id if target else None, outside=outside)  # fmt: skip
        return ctx.redirect("/leads?" + urlencode({**back.params(), "moved": len(moved), "outside": outside}))

    async def mark_many(ctx: Ctx) -> Response:
        """The leads ticked in the list marked with one status (and an optional note), within the
        person's areas; each gets its own history entry."""
        assert ctx.form is not None
        ids = sorted({int(v) for v in ctx.form.getlist("lead") if isinstance(v, str) and v.isdigit()})[:BULK_MAX]
        status = ctx.field("status")
        note = ctx.field("note")[:MAX_NOTE] or None
        if status not in STATUSES[1:]:
            return ctx.error(400, "error_field")
        back = queries.LeadFilter.from_params(dict(parse_qsl(ctx.field("back"))))
        async with dash.runtime.db.session() as session:
            marked = []
            for lead in (await session.scalars(select(Lead).where(Lead.id.in_(ids), scope.leads_in(ctx.areas)))).all():
                if lead.status != status or note:
                    lead.status = status
                    session.add(LeadEvent(lead_id=lead.id, staff_id=ctx.me.id, status=status, note=note))
                    marked.append(lead.id)
            if marked:
                await repo.audit(session, ctx.actor, "leads_status", lead_ids=marked, status=status, note=bool(note))
        return ctx.redirect("/leads?" + urlencode({**back.params(), "marked": len(marked)}))

    async def visits(ctx: Ctx) -> Response:
        """A printable visit list: open leads by coordinator and kecamatan, in the person's areas."""
        params = ctx.request.query_params
        kecamatan = params.get("kecamatan", "")
        kecamatan = kecamatan if kecamatan.isdigit() and len(kecamatan) in (4, 6) else ""
        chosen = params.get("coordinator", "")
        coordinator: int | None = None
        if chosen == "none":
            coordinator = 0
        elif chosen.isdigit() and len(chosen) < 10:
            coordinator = int(chosen)
        if ctx.me.role == "coordinator" and not chosen:
            coordinator, chosen = ctx.me.id, str(ctx.me.id)
        async with dash.runtime.db.session() as session:
            await lead_quality.backfill(session, dash.runtime.cipher)
            rows = await queries.visit_list(session, ctx.areas, kecamatan, coordinator)
            names = await queries.staff_names(session)
            coordinators = await queries.coordinators(session)
            shared = await lead_quality.duplicates(session, [lead for lead, _ in rows])
        today = dash.today()
        if ctx.areas is not None:
            coordinators = [c for c in coordinators if c.id == ctx.me.id]
        groups: dict[tuple[str, str], list[tuple[Lead, str | None]]] = {}
        for lead, asked in rows:
            who = names.get(lead.assigned_staff_id, "") if lead.assigned_staff_id else ""
            groups.setdefault((who, lead.kecamatan_code), []).append((lead, asked))
        ordered = sorted(groups.items(), key=lambda item: (item[0][0] == "", item[0][0], item[0][1]))
        return ctx.render(
            "visits.html",
            groups=ordered,
            flags={lead.id: lead_quality.flags(lead, today, lead.id in shared) for lead, _ in rows},
            count=len(rows),
            kecamatan=kecamatan,
            chosen=chosen,
            coordinators=coordinators,
            area_choices=_area_choices(ctx),
            printed=dash.local_time(datetime.now(UTC)),
        )

    async def reveal(ctx: Ctx) -> Response:
        async with dash.runtime.db.session() as session:
            lead = await queries.visible_lead(session, _lead_id(ctx) or 0, ctx.areas)
            if lead is None:
                return ctx.error(404, "not_found")
            nik = dash.runtime.cipher.decrypt(lead.nik_encrypted)
            await repo.audit(session, ctx.actor, "nik_revealed", lead_id=lead.id)
        return await lead_detail(ctx, revealed=nik)

    async def export(ctx: Ctx) -> Response:
        fmt = ctx.request.path_params["fmt"]
        flt = queries.LeadFilter.from_params(ctx.request.query_params)
        leads = queries.stream(dash.runtime.db, flt, ctx.areas, dash.tz, viewer(ctx))
        fd, path = tempfile.mkstemp(prefix="bpu-export-", suffix=f".{fmt}")
        os.close(fd)
        try:
            db, lang = dash.runtime.db, ctx.lang
            if fmt == "xlsx":
                count = await exports.write_xlsx(leads, path, db=db, zone=dash.tz, lang=lang)
            else:
                # A local temporary file: short buffered writes between rows streamed from the database.
                with open(path, "w", encoding="utf-8-sig", newline="") as fh:  # noqa: ASYNC230
                    count = await exports.write_csv(leads, fh, db=db, zone=dash.tz, lang=lang)
            async with dash.runtime.db.session() as session:
                await repo.audit(
                    session,
                    ctx.actor,
                    "leads_export",
                    format=fmt,
                    rows=count,
                    filter=flt.params(),
                    areas=ctx.areas,
                    lang=lang,
                    via="dashboard",
                )
        except BaseException:
            os.unlink(path)
            raise
        stamp = datetime.now(UTC).astimezone(dash.tz).strftime("%Y%m%d-%H%M")
        return FileResponse(
            path,
            media_type=_MEDIA[fmt],
            filename=f"calon-peserta-{stamp}.{fmt}",
            background=BackgroundTask(os.unlink, path),
        )

    return [
        dash.route("/leads", lead_list),
        dash.route("/leads/export.{fmt:str}", _only_formats(export)),
        dash.route("/leads/{lead_id:int}", lead_detail),
        dash.route("/leads/{lead_id:int}/status", change_status, methods=("POST",)),
        dash.route("/leads/{lead_id:int}/assign", reassign, roles=OFFICE, methods=("POST",)),
        dash.route("/leads/assign", reassign_many, roles=OFFICE, methods=("POST",)),
        dash.route("/leads/status", mark_many, methods=("POST",)),
        dash.route("/leads/visits", visits),
        dash.route("/leads/{lead_id:int}/reveal", reveal, methods=("POST",)),
    ]


def whatsapp_digits(phone: str | None) -> str:
    """The digits of a wa.me link (https://wa.me/62812...) for a phone as stored."""
    return indonesian_digits(phone or "")


def _views(ctx: Ctx) -> list[str]:
    """The work-list tabs this person sees ("mine" only for whom leads are assigned to)."""
    mine = ["mine"] if ctx.staff and ctx.staff.role == "coordinator" else []
    return ["", *mine, "overdue", "unassigned", "flagged", "callbacks"]


def works_in(coordinator: Staff, lead: Lead) -> bool:
    """Whether the lead is in the coordinator's areas: assigned elsewhere, they could not open it."""
    return scope.covers([a.area_code for a in coordinator.areas], lead.kecamatan_code)


def _only_formats(endpoint):  # type: ignore[no-untyped-def]
    async def wrapped(ctx: Ctx) -> Response:
        if ctx.request.path_params.get("fmt") not in _MEDIA:
            return ctx.error(404, "not_found")
        return await endpoint(ctx)

    return wrapped


def _area_choices(ctx: Ctx) -> list[tuple[str, str]]:
    from content import regions

    choices: list[tuple[str, str]] = []
    areas = ctx.areas
    for kabkota in regions.kabkota_list():
        if areas is None or any(a.startswith(kabkota.code) or kabkota.code == a for a in areas):
            if areas is None or kabkota.code in areas:
                choices.append((kabkota.code, kabkota.name))
            for kec in regions.kecamatan_of(kabkota.code):
                if scope.covers(areas, kec.code):
                    choices.append((kec.code, f"— {kec.name}"))
    return choices
