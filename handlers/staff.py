"""Staff commands in chat (/leads, /lead ID, /stats, /broadcast): the staff table checked on every call.

Coordinators (and admins) work leads: `/leads` lists the new leads of their areas, each with
buttons to mark it contacted / registered / declined or add a note; `/lead ID` shows one
lead and its history. Every staff member gets `/stats`. A coordinator's areas restrict the
SQL query itself (`leads_query(areas=...)`), so another area's lead is never loaded. Staff and
admins compose a broadcast with `/broadcast` (template or text, area, preview, confirm).
Anyone not entitled who types a command gets the ordinary menu; a staff button pressed by
someone no longer entitled is a stale button.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from content import regions
from content.render import template_variables
from handlers import acts, lead_form, menu, occupations
from handlers.messages import Button
from handlers.text import keyword
from handlers.turn import Turn
from storage import repositories as repo
from storage import scope
from storage.models import Contact, Lead, LeadEvent, Staff

COMMANDS = ("/leads", "/lead", "/stats", "/tambah", "/broadcast")
STATUSES = ("contacted", "registered", "declined")
LEADS_SHOWN = 10
NOTE_STEP = "staff_note:"
NOTE_MAX = 2000
_LEAD_ROLES = ("coordinator", "admin")
_STATS_ROLES = ("staff", "coordinator", "admin")
_BROADCAST_ROLES = ("staff", "admin")
BROADCAST_STEP = "staff_broadcast:"
BROADCAST_TEXT_MAX = 3500  # one Telegram message (4096) with room to spare; WhatsApp allows 4096 too
# Button labels for staff only (workers never see them), short enough for one row.
_LABELS = {
    "id": {"contacted": "Dihubungi", "registered": "Terdaftar", "declined": "Tidak jadi", "note": "Catatan"},
    "en": {"contacted": "Contacted", "registered": "Registered", "declined": "Declined", "note": "Note"},
}


async def command(turn: Turn) -> bool:
    """Handle a staff command; False when the text is not one (the engine carries on)."""
    word, _, rest = turn.text.partition(" ")
    word = word.split("@", 1)[0].lower()
    step = turn.state.step or ""
    if step.startswith(NOTE_STEP):
        turn.state.step = None  # any command leaves a note unwritten
    if word not in COMMANDS:
        return False
    if step.startswith(BROADCAST_STEP):
        _broadcast_end(turn)  # ...and a broadcast unsent
    staff = await _staff(turn)
    turn.intent = f"staff{word}"
    if word == "/stats" and staff is not None and staff.role in _STATS_ROLES:
        await _stats(turn, staff)
    elif word == "/leads" and staff is not None and staff.role in _LEAD_ROLES:
        await _leads(turn, staff)
    elif word == "/broadcast" and staff is not None and staff.role in _BROADCAST_ROLES:
        await _broadcast_start(turn, rest.strip())
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
    if action == "bc":
        await _broadcast_button(turn, staff, arg)
        return
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
    if acts.act(turn.text) == "cancel":
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
    query = repo.leads_query(status="new", areas=scope.of(staff)).limit(LEADS_SHOWN + 1)
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
        areas=_area_names(staff) if areas is not None else [],
    )


# -- /broadcast --------------------------------------------------------------------------------
#
# A short conversation kept in the state: step `staff_broadcast:<stage>`, the choices so far in
# data["broadcast"] (saved by the engine after every message, so any process may answer the next):
#   what    -> a template button (s:bc:tpl:<name>) or the announcement typed as text
#   var     -> the template's variables, one message each (a date as 2026-12-01; "-" for none)
#   area    -> a kabupaten/kota of the outreach (s:bc:area:<code>) or everyone (s:bc:area:all)
#   confirm -> the preview the CLI shows; Kirim sekarang (s:bc:go) or Batal (s:bc:no)
# The staff table is checked at every stage. A button of a stage already passed is stale, so
# "Kirim sekarang" pressed twice creates one broadcast. The broadcast itself is made by
# handlers.broadcasts (the CLI's code); `bpu-bot run` fans it out and sends it.

_BC = "broadcast"
_BC_STAGES = ("what", "var", "area", "confirm")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


async def broadcast_answer(turn: Turn) -> bool:
    """A message typed while composing a broadcast (state step `staff_broadcast:<stage>`).

    False when the contact is not composing one (the engine carries on).
    """
    step = turn.state.step or ""
    if not step.startswith(BROADCAST_STEP):
        return False
    turn.intent = "staff_broadcast"
    stage = step.removeprefix(BROADCAST_STEP)
    staff = await _staff(turn)
    if staff is None or staff.role not in _BROADCAST_ROLES or stage not in _BC_STAGES:
        _broadcast_end(turn)
        _menu(turn)
        return True
    if acts.act(turn.text) == "cancel":
        _broadcast_end(turn)
        turn.say("staff_broadcast_cancelled")
        return True
    if turn.text.startswith("/"):  # /start, /menu...: the broadcast is left, the engine answers
        _broadcast_end(turn)
        return False
    draft = dict(turn.data.get(_BC) or {})
    if stage == "what":
        text = _CONTROL_CHARS.sub("", unicodedata.normalize("NFC", turn.msg.text or "")).strip()
        if len(text) > BROADCAST_TEXT_MAX:
            turn.say("staff_broadcast_too_long", length=len(text), max_len=BROADCAST_TEXT_MAX)
            return True
        draft.update(text=text, template=None, variables={})
        _ask_area(turn, draft)
    elif stage == "var":
        await _take_variable(turn, draft)
    elif stage == "area":
        code = _area_typed(turn.text)
        if code is None:
            _ask_area(turn, draft, again=True)
        else:
            await _show_preview(turn, draft, code)
    elif acts.act(turn.text, at="broadcast_confirm") in ("send", "agree"):
        await _broadcast_create(turn, staff, draft)
    else:
        turn.say("staff_broadcast_confirm_again", buttons=_confirm_buttons(turn))
    return True


async def _broadcast_start(turn: Turn, arg: str) -> None:
    broadcast_id = _int(arg.lstrip("#"))
    if arg and broadcast_id is not None:  # `/broadcast 12`: how that broadcast is going
        await _broadcast_status(turn, broadcast_id)
        return
    turn.state.step = f"{BROADCAST_STEP}what"
    turn.save_data(**{_BC: {}})
    buttons = [Button(_template_label(name), f"s:bc:tpl:{name}") for name in _broadcast_templates(turn)]
    turn.say("staff_broadcast_start", max_len=BROADCAST_TEXT_MAX,
             buttons=[*buttons, turn.button("cancel", "s:bc:no")])  # fmt: skip


async def _broadcast_button(turn: Turn, staff: Staff | None, arg: str) -> None:
    step = turn.state.step or ""
    stage = step.removeprefix(BROADCAST_STEP) if step.startswith(BROADCAST_STEP) else None
    action, _, value = arg.partition(":")
    turn.intent = f"staff_broadcast:{action}"
    if staff is None or staff.role not in _BROADCAST_ROLES:
        if stage is not None:
            _broadcast_end(turn)
        turn.say("stale_button")
        _menu(turn)
        return
    draft = dict(turn.data.get(_BC) or {})
    if action == "no" and stage is not None:
        _broadcast_end(turn)
        turn.say("staff_broadcast_cancelled")
    elif action == "tpl" and stage == "what" and value in _broadcast_templates(turn):
        draft.update(template=value, text=None, variables={}, missing=list(template_variables(value)))
        await _next_variable(turn, draft)
    elif action == "area" and stage == "area" and (value == "all" or value in _outreach_codes()):
        await _show_preview(turn, draft, None if value == "all" else value)
    elif action == "go" and stage == "confirm":
        await _broadcast_create(turn, staff, draft)
    else:  # pressed twice, or a button of a stage already passed
        turn.say("stale_button")


async def _take_variable(turn: Turn, draft: dict[str, Any]) -> None:
    missing = list(draft.get("missing") or [])
    if not missing:  # cannot happen through the buttons; start the stage again
        await _next_variable(turn, draft)
        return
    name, value = missing[0], (turn.text or "").strip()
    if value == "-":
        value = ""
    elif name == "date":
        parsed = _date_typed(value)
        if parsed is None:
            turn.say("staff_broadcast_bad_date", value=value[:40])
            return
        value = parsed.isoformat()
    elif not value or len(value) > 200:
        turn.say("staff_broadcast_var", name=name, which=_template_label(draft["template"]))
        return
    draft["variables"] = {**(draft.get("variables") or {}), name: value}
    draft["missing"] = missing[1:]
    await _next_variable(turn, draft)


async def _next_variable(turn: Turn, draft: dict[str, Any]) -> None:
    missing = draft.get("missing") or []
    if missing:
        turn.state.step = f"{BROADCAST_STEP}var"
        turn.save_data(**{_BC: draft})
        turn.say("staff_broadcast_var", name=missing[0], which=_template_label(draft["template"]))
        return
    _ask_area(turn, draft)


def _ask_area(turn: Turn, draft: dict[str, Any], *, again: bool = False) -> None:
    turn.state.step = f"{BROADCAST_STEP}area"
    turn.save_data(**{_BC: draft})
    buttons = [Button(region.name, f"s:bc:area:{region.code}") for region in regions.outreach_kabkota()]
    buttons.append(Button(_BC_ALL_LABEL.get(turn.lang, "Semua"), "s:bc:area:all"))
    turn.say("staff_broadcast_area", again=again, buttons=[*buttons, turn.button("cancel", "s:bc:no")])


_BC_ALL_LABEL = {"id": "Semua wilayah", "en": "Every area"}


async def _show_preview(turn: Turn, draft: dict[str, Any], area: str | None) -> None:
    from handlers import broadcasts

    segment = {"area": area} if area else {}
    channels = broadcasts.parse_channels(None)
    try:
        p = await broadcasts.preview(
            turn.session, turn.services.renderer, segment=segment, channels=channels, template=draft.get("template"),
            text=draft.get("text"), variables=draft.get("variables") or {}, now=turn.now,
            daily_limit=turn.services.whatsapp_daily_limit,
        )  # fmt: skip
    except Exception as exc:  # a template variable it cannot use, most often
        _broadcast_end(turn)
        turn.say("staff_broadcast_error", error=f"{type(exc).__name__}: {exc}"[:200])
        return
    draft["segment"] = segment
    turn.state.step = f"{BROADCAST_STEP}confirm"
    turn.save_data(**{_BC: draft})
    region = regions.get(area) if area else None
    share = p.whatsapp_share
    turn.say(
        "staff_broadcast_preview",
        p=p,
        area=region.name if region else None,
        left=max(0, p.whatsapp_daily_limit - p.whatsapp_used_24h),
        share=None if share is None else round(100 * share),
        text=p.texts["id"],
        buttons=_confirm_buttons(turn),
    )


async def _broadcast_create(turn: Turn, staff: Staff, draft: dict[str, Any]) -> None:
    from handlers import broadcasts

    _broadcast_end(turn)
    b = await broadcasts.create(
        turn.session, created_by=f"staff:{staff.id}", segment=draft.get("segment") or {},
        channels=broadcasts.parse_channels(None), template=draft.get("template"), text=draft.get("text"),
        variables=draft.get("variables") or {}, now=turn.now,
    )  # fmt: skip
    await repo.audit(turn.session, f"staff:{staff.id}", "broadcast_create", broadcast_id=b.id,
                     template=b.template, segment=b.segment)  # fmt: skip
    turn.say("staff_broadcast_created", broadcast_id=b.id)


async def _broadcast_status(turn: Turn, broadcast_id: int) -> None:
    from handlers import broadcasts

    try:
        st = await broadcasts.status(turn.session, broadcast_id)
    except LookupError:
        turn.say("staff_broadcast_not_found", broadcast_id=broadcast_id)
        return
    turn.say(
        "staff_broadcast_status",
        broadcast_id=broadcast_id,
        status=st.broadcast.status,
        total=st.total,
        finished=st.finished,
        sent=st.counts.get("sent", 0),
        skipped=st.counts.get("skipped", 0),
        failed=st.counts.get("failed", 0),
        waiting=st.waiting,
    )


def _broadcast_end(turn: Turn) -> None:
    turn.state.step = None
    turn.drop_data(_BC)


def _confirm_buttons(turn: Turn) -> list[Button]:
    send = {"id": "Kirim sekarang", "en": "Send now"}.get(turn.lang, "Kirim sekarang")
    return [Button(send, "s:bc:go"), turn.button("cancel", "s:bc:no")]


def _broadcast_templates(turn: Turn) -> list[str]:
    return [n for n in turn.services.renderer.template_names() if n.startswith("broadcast_")]


def _template_label(name: str) -> str:
    return name.removeprefix("broadcast_").replace("_", " ").capitalize()


def _outreach_codes() -> list[str]:
    return [region.code for region in regions.outreach_kabkota()]


def _area_typed(text: str) -> str | None:
    """A typed area: "semua" -> "" (everyone), a kabupaten/kota name or code -> its code, else None."""
    word = keyword(text)
    if acts.control(text) == "all_areas":
        return ""
    outreach = regions.outreach_kabkota()
    exact = [r.code for r in outreach if word in (r.code, keyword(r.name))]
    partial = [r.code for r in outreach if word and keyword(r.name).endswith(" " + word)]
    found = exact or partial
    return found[0] if len(found) == 1 else None  # "serang" alone is two places: ask again


def _date_typed(text: str) -> date | None:
    from datetime import datetime

    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()  # noqa: DTZ007  # a calendar date, no time
        except ValueError:
            continue
    return None


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


async def _find(turn: Turn, staff: Staff | None, lead_id: int | None) -> Lead | None:
    if staff is None or lead_id is None:
        return None
    query = repo.leads_query(areas=scope.of(staff)).where(Lead.id == lead_id)
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
    menu.menu(turn, intro=False)


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 12 else None
