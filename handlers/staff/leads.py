"""Leads in chat: `/leads` (the new leads of one's areas, with buttons), `/lead ID` (one lead and
its history), `/stats`, the status and note buttons, and the note typed after "Catatan".

A coordinator's areas restrict the SQL query itself (`leads_query(areas=...)`), so another
area's lead is never loaded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from content import regions
from handlers import acts, occupations
from handlers.messages import Button
from handlers.staff.common import LEAD_ROLES, area_names, find_lead, local_day, show_menu, staff_of, to_int
from handlers.turn import Turn
from storage import repositories as repo
from storage import scope
from storage.models import LEAD_STATUSES, Contact, Lead, LeadEvent, Staff

STATUSES = LEAD_STATUSES[1:]  # what a coordinator can mark a lead
LEADS_SHOWN = 10
NOTE_STEP = "staff_note:"
NOTE_MAX = 2000


async def show_leads(turn: Turn, staff: Staff) -> None:
    query = repo.leads_query(status="new", areas=scope.of(staff)).limit(LEADS_SHOWN + 1)
    leads = list((await turn.session.scalars(query)).all())
    shown = leads[:LEADS_SHOWN]
    turn.say("staff_leads", count=len(shown), more=len(leads) > LEADS_SHOWN, areas=area_names(staff))
    for lead in shown:
        turn.say("staff_lead_card", lead=_view(turn, lead), buttons=_lead_buttons(turn, lead))


async def show_lead(turn: Turn, staff: Staff, lead_id: int) -> None:
    lead = await find_lead(turn, staff, lead_id)
    if lead is None:
        turn.say("staff_lead_not_found", lead_id=lead_id)
        return
    rows = await turn.session.execute(
        select(LeadEvent, Staff.name)
        .outerjoin(Staff, Staff.id == LeadEvent.staff_id)
        .where(LeadEvent.lead_id == lead.id)
        .order_by(LeadEvent.created_at, LeadEvent.id)
    )
    events = [
        {
            "day": local_day(turn, event.created_at),
            "who": name or "-",
            "status": turn.label(f"status_{event.status}") if event.status else None,
            "note": event.note,
        }
        for event, name in rows.all()
    ]
    turn.say("staff_lead_detail", lead=_view(turn, lead), events=events, buttons=_lead_buttons(turn, lead))


async def show_stats(turn: Turn, staff: Staff) -> None:
    areas = scope.of(staff) if staff.role == "coordinator" else None
    leads = repo.leads_query(areas=areas).order_by(None).subquery()
    by_status: dict[str, int] = dict(
        (await turn.session.execute(select(leads.c.status, func.count()).group_by(leads.c.status))).all()
    )
    week_ago = turn.now - timedelta(days=7)
    this_week = await turn.session.scalar(select(func.count()).select_from(leads).where(leads.c.created_at >= week_ago))
    contacts = opted_out = None
    if areas is None:
        contacts = await turn.session.scalar(select(func.count()).select_from(Contact))
        opted_out = await turn.session.scalar(select(func.count()).where(Contact.opted_out_at.is_not(None)))
    turn.say(
        "staff_stats",
        total=sum(by_status.values()),
        statuses=[(turn.label(f"status_{s}"), by_status.get(s, 0)) for s in ("new", *STATUSES)],
        this_week=this_week or 0,
        contacts=contacts,
        opted_out=opted_out,
        areas=area_names(staff) if areas is not None else [],
    )


async def lead_button(turn: Turn, staff: Staff | None, action: str, arg: str) -> None:
    """`s:st:<lead id>:<status>` or `s:note:<lead id>`."""
    if staff is None or staff.role not in LEAD_ROLES or action not in ("st", "note"):
        turn.say("stale_button")
        show_menu(turn)
        return
    lead_id_text, _, status = arg.partition(":")
    lead = await find_lead(turn, staff, to_int(lead_id_text))
    if lead is None:
        turn.say("staff_lead_not_found", lead_id=lead_id_text)
        return
    if action == "note":
        turn.state.step = f"{NOTE_STEP}{lead.id}"
        turn.say("staff_note_ask", lead_id=lead.id, name=lead.full_name)
        return
    if status not in STATUSES:
        turn.say("stale_button")
        return
    previous = lead.status
    lead.status = status
    turn.session.add(LeadEvent(lead_id=lead.id, staff_id=staff.id, status=status))
    await repo.audit(turn.session, f"staff:{staff.id}", "lead_status", lead_id=lead.id, status=status,
                     previous=previous)  # fmt: skip
    turn.say(
        "staff_status_set",
        lead_id=lead.id,
        name=lead.full_name,
        status=turn.label(f"status_{status}"),
        buttons=[turn.button("staff_note", f"s:note:{lead.id}")],
    )


async def note(turn: Turn) -> bool:
    """The text after "Catatan" is the note (state step `staff_note:<lead id>`).

    False when the contact is not writing a note. The staff check and the area check run
    again here: a note is written only on a lead the staff member may still see.
    """
    step = turn.state.step or ""
    if not step.startswith(NOTE_STEP):
        return False
    turn.state.step = None
    turn.intent = "staff_note"
    if acts.act(turn.text) == "cancel":
        turn.say("staff_note_cancelled")
        return True
    staff = await staff_of(turn)
    lead = await find_lead(turn, staff, to_int(step.removeprefix(NOTE_STEP))) if staff else None
    if staff is None or staff.role not in LEAD_ROLES or lead is None:
        turn.say("stale_button")
        show_menu(turn)
        return True
    text = (turn.msg.text or "").strip()[:NOTE_MAX]
    turn.session.add(LeadEvent(lead_id=lead.id, staff_id=staff.id, note=text))
    await repo.audit(turn.session, f"staff:{staff.id}", "lead_note", lead_id=lead.id)
    turn.say("staff_note_saved", lead_id=lead.id, name=lead.full_name)
    return True


def _view(turn: Turn, lead: Lead) -> dict[str, Any]:
    kabkota = regions.get(lead.kabkota_code)
    kecamatan = regions.get(lead.kecamatan_code)
    return {
        "id": lead.id,
        "name": lead.full_name,
        "nik": lead.nik_masked,
        "phone": lead.phone_e164,
        "area": ", ".join(r.name for r in (kecamatan, kabkota) if r) or lead.kecamatan_code,
        "occupation": occupations.label(lead.occupation, turn.lang) or lead.occupation,
        "income": lead.declared_income,
        "programmes": lead.programmes,
        "continue_via": turn.label(f"continue_{lead.continue_via}"),
        "status": turn.label(f"status_{lead.status}"),
        "created": local_day(turn, lead.created_at),
        "campaign": lead.campaign_code,
    }


def _lead_buttons(turn: Turn, lead: Lead) -> list[Button]:
    buttons = [turn.button(f"staff_{s}", f"s:st:{lead.id}:{s}") for s in STATUSES if s != lead.status]
    return [*buttons, turn.button("staff_note", f"s:note:{lead.id}")]
