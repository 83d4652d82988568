"""Staff commands in chat (/leads, /lead ID, /stats): checked against the staff table on every call.

Coordinators (and admins) work leads: `/leads` lists the new leads of their areas, each with
buttons to mark it contacted / registered / declined or add a note; `/lead ID` shows one
lead and its history. Every staff member gets `/stats`. A coordinator's areas restrict the
SQL query itself (`leads_query(areas=...)`), so another area's lead is never loaded.
Anyone not entitled who types a command gets the ordinary menu; a staff button pressed by
someone no longer entitled is a stale button.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from content import regions
from handlers import occupations
from handlers.messages import Button
from handlers.text import keyword
from handlers import lead_form
from handlers.turn import Turn
from storage import repositories as repo
from storage.models import Contact, Lead, LeadEvent, Staff

COMMANDS = ("/leads", "/lead", "/stats", "/tambah")
FIELD_ENTRY_WORDS = {"tambah peserta", "tambah pekerja", "/tambah"}
STATUSES = ("contacted", "registered", "declined")
LEADS_SHOWN = 10
NOTE_STEP = "staff_note:"
NOTE_MAX = 2000
_LEAD_ROLES = ("coordinator", "admin")
_STATS_ROLES = ("staff", "coordinator", "admin")
_CANCEL = {"batal", "cancel", "/batal", "gak jadi", "ga jadi", "tidak jadi"}
# Button labels for staff only (workers never see them), short enough for one row.
_LABELS = {
    "id": {"contacted": "Dihubungi", "registered": "Terdaftar", "declined": "Tidak jadi", "note": "Catatan"},
    "en": {"contacted": "Contacted", "registered": "Registered", "declined": "Declined", "note": "Note"},
}


async def command(turn: Turn) -> bool:
    """Handle a staff command; False when the text is not one (the engine carries on)."""
    word, _, rest = turn.text.partition(" ")
    word = word.split("@", 1)[0].lower()
    if (turn.state.step or "").startswith(NOTE_STEP):
        turn.state.step = None  # any command leaves a note unwritten
    if word not in COMMANDS:
        return False
    staff = await _staff(turn)
    turn.intent = f"staff{word}"
    if word == "/stats" and staff is not None and staff.role in _STATS_ROLES:
        await _stats(turn, staff)
    elif word == "/leads" and staff is not None and staff.role in _LEAD_ROLES:
        await _leads(turn, staff)
    elif word == "/tambah" and staff is not None and staff.role in _LEAD_ROLES:
        await lead_form.start_field_entry(turn, staff)
    elif word == "/lead" and staff is not None and staff.role in _LEAD_ROLES:
        lead_id = _int(rest.strip().lstrip("#"))
        if lead_id is None:
            turn.say("staff_lead_usage")
        else:
            await _lead(turn, staff, lead_id)
    else:
        _menu(turn)
    return True


async def button(turn: Turn, rest: str) -> None:
    """A staff button (`s:...`); pressed by someone not in the staff table, it is a stale button."""
    action, _, arg = rest.partition(":")
    staff = await _staff(turn)
    if staff is None or staff.role not in _LEAD_ROLES or action not in ("st", "note"):
        turn.say("stale_button")
        _menu(turn)
        return
    lead_id_text, _, status = arg.partition(":")
    lead = await _find(turn, staff, _int(lead_id_text))
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
        buttons=[_button(turn, "note", f"s:note:{lead.id}")],
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
    if keyword(turn.text) in _CANCEL:
        turn.say("staff_note_cancelled")
        return True
    staff = await _staff(turn)
    lead = await _find(turn, staff, _int(step.removeprefix(NOTE_STEP))) if staff else None
    if staff is None or staff.role not in _LEAD_ROLES or lead is None:
        turn.say("stale_button")
        _menu(turn)
        return True
    text = (turn.msg.text or "").strip()[:NOTE_MAX]
    turn.session.add(LeadEvent(lead_id=lead.id, staff_id=staff.id, note=text))
    await repo.audit(turn.session, f"staff:{staff.id}", "lead_note", lead_id=lead.id)
    turn.say("staff_note_saved", lead_id=lead.id, name=lead.full_name)
    return True


# -- the commands ------------------------------------------------------------------------------


async def _leads(turn: Turn, staff: Staff) -> None:
    query = repo.leads_query(status="new", areas=_areas(staff)).limit(LEADS_SHOWN + 1)
    leads = list((await turn.session.scalars(query)).all())
    shown = leads[:LEADS_SHOWN]
    turn.say("staff_leads", count=len(shown), more=len(leads) > LEADS_SHOWN, areas=_area_names(staff))
    for lead in shown:
        turn.say("staff_lead_card", lead=_view(turn, lead), buttons=_lead_buttons(turn, lead))


async def _lead(turn: Turn, staff: Staff, lead_id: int) -> None:
    lead = await _find(turn, staff, lead_id)
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
            "day": _local_day(turn, event.created_at),
            "who": name or "-",
            "status": turn.label(f"status_{event.status}") if event.status else None,
            "note": event.note,
        }
        for event, name in rows.all()
    ]
    turn.say("staff_lead_detail", lead=_view(turn, lead), events=events, buttons=_lead_buttons(turn, lead))


async def _stats(turn: Turn, staff: Staff) -> None:
    areas = _areas(staff) if staff.role == "coordinator" else None
    leads = repo.leads_query(areas=areas).order_by(None).subquery()
    by_status = dict((await turn.session.execute(select(leads.c.status, func.count()).group_by(leads.c.status))).all())
    week_ago = turn.now - timedelta(days=7)
    this_week = await turn.session.scalar(
        select(func.count()).select_from(leads).where(leads.c.created_at >= week_ago)
    )
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
        areas=_area_names(staff) if areas is not None else [],
    )


# -- helpers ----------------------------------------------------------------------------------


async def field_entry(turn: Turn) -> bool:
    """ "tambah peserta" (WhatsApp has no commands): a coordinator adds a worker met in person."""
    staff = await _staff(turn)
    if staff is None or staff.role not in _LEAD_ROLES:
        return False
    turn.intent = "staff/tambah"
    await lead_form.start_field_entry(turn, staff)
    return True


async def _staff(turn: Turn) -> Staff | None:
    return await repo.staff_for(turn.session, turn.msg.channel, turn.msg.user_id)


def _areas(staff: Staff) -> list[str] | None:
    """A coordinator sees their areas only (none assigned: nothing); an admin sees all."""
    if staff.role == "admin":
        return None
    return [area.area_code for area in staff.areas]


async def _find(turn: Turn, staff: Staff | None, lead_id: int | None) -> Lead | None:
    if staff is None or lead_id is None:
        return None
    query = repo.leads_query(areas=_areas(staff)).where(Lead.id == lead_id)
    lead: Lead | None = await turn.session.scalar(query)
    return lead


def _area_names(staff: Staff) -> list[str]:
    names = []
    for area in staff.areas:
        region = regions.get(area.area_code)
        names.append(region.name if region else area.area_code)
    return names


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
        "created": _local_day(turn, lead.created_at),
        "campaign": lead.campaign_code,
    }


def _local_day(turn: Turn, when: Any) -> date:
    if when is None:
        return turn.today
    if when.tzinfo is None:  # SQLite hands back naive UTC
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return when.astimezone(ZoneInfo(turn.services.timezone)).date()  # type: ignore[no-any-return]


def _button(turn: Turn, key: str, payload: str) -> Button:
    labels = _LABELS.get(turn.lang, _LABELS["id"])
    return Button(labels[key], payload)


def _lead_buttons(turn: Turn, lead: Lead) -> list[Button]:
    buttons = [_button(turn, s, f"s:st:{lead.id}:{s}") for s in STATUSES if s != lead.status]
    return [*buttons, _button(turn, "note", f"s:note:{lead.id}")]


def _menu(turn: Turn) -> None:
    from handlers import topics

    topics.menu(turn, intro=False)


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 12 else None
